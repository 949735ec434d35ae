"""NATS JetStream plumbing shared by the relay, the workers and the outcome ingester."""

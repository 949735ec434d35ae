"""Read side: views with exactly-once tracking, queries, the relay to NATS, and replay."""

"""NATS consumers that touch hosts: they import ``domain`` message types only."""

"""The service tier (tests/README.md)."""

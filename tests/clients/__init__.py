"""The clients tier (tests/README.md)."""

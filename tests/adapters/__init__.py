"""The adapters tier (tests/README.md)."""

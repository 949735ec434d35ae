"""The e2e tier (tests/README.md)."""

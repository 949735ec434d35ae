"""What the tests and bench/ share: the stack in a test's loop, the per-test
databases, the clients, the one polling helper and the /proc process helpers
(tests/README.md)."""

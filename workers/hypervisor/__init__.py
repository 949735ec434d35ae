"""The hypervisor worker: turns instance requests into guests on one host."""

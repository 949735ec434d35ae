"""Benchmarks: whole-stack measurements put next to raw database figures."""

"""The golden event log: events of every type as stored, kept so that the
code of tomorrow is proven to read the databases of today (README.md)."""

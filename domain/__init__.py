"""Pure model of nimbus: events, aggregate state and decisions (stdlib + msgspec only)."""

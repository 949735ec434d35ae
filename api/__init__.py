"""HTTP: the OpenStack-compatible command and query APIs, identity and the event stream."""

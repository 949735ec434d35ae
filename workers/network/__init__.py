"""The network worker: renders on a network host what the log says should exist."""

"""Composition root: settings, embedded servers, process supervision and the nimbus CLI."""

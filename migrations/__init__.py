"""Applies the SQL for the event store and the views (see runner.py)."""

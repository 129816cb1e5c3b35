"""Routing: the pure matching engine (tasks to agents), its model and its decisions."""

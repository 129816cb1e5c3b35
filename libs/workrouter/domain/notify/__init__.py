"""Callbacks to source systems: the task state they report, the body, its signature, the retry schedule (pure)."""

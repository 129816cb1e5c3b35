"""Capture: turns source systems' commands on `wr.capture` into task lifecycle events on `wr.tasks`."""

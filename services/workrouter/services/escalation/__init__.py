"""Escalation: keeps each open task's durable timers and fires them (escalate, expire, wake)."""

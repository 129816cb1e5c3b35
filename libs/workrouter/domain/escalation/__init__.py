"""Escalation: SLA/OLA steps, expiry, wake-ups and due-date reprioritisation, planned as timers (pure)."""

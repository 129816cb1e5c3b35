"""Prioritiser: classifies captured tasks by rules into queue, skills, priority, SLA, due and expiry."""

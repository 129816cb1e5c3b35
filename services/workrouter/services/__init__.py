"""One sub-package per service (capture, prioritiser, router, escalation, reporting, notifier, api).

Services never import each other; what they share lives in the libs half of `workrouter`.
"""

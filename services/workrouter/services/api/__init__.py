"""HTTP api: source systems, agents and supervisors talk to workrouter here; it publishes commands."""

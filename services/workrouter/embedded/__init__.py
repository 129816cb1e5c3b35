"""The one-process mode: every service in one process over the in-process bus, with PostgreSQL and
Redis started from Python wheels under a data folder (`workrouter up`)."""

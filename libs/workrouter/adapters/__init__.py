"""Adapters: the only code that talks to Kafka, Redis, PostgreSQL or HTTP."""

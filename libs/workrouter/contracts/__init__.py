"""Wire contracts shared by every service: envelope, payloads, topics, codec."""

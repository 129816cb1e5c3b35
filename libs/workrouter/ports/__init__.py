"""Ports: what services need from storage, as protocols; adapters implement them."""

"""The notifier service: signed, retried, deduplicated callbacks to source systems (see docs/notifier.md)."""

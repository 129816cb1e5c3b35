"""The message bus port and the delivery policy its adapters share."""

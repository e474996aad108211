"""Delivery: the outbox, transports, the sender."""

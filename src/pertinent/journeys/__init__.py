"""Journeys: definitions and the durable runtime."""

"""Pertinent: a self-hosted, data-driven email personalization engine."""

__version__ = "0.1.0"

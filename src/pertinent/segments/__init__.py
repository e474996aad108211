"""Segments: the condition language, its SQL compiler, and the evaluation engine."""

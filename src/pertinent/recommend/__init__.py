"""Recommendations: interactions, models, offline evaluation, serving."""

"""Accepting events: validate, normalize, dedupe, flag bots, append to the log."""

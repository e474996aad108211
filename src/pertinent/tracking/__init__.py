"""Signed tokens for open, click and unsubscribe links."""

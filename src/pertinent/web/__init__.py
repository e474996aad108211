"""The dashboard: pages that only render what the parts return."""

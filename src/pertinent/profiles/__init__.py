"""Profile state: traits, identity, computed properties."""

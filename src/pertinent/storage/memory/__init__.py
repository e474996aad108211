"""The in-memory adapter: the reference every other adapter is held to, for fast tests."""

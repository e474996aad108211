"""Ports the parts use, and the adapters behind them."""

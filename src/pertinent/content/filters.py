"""Liquid filters Pertinent adds for email, registered through python-liquid's public API."""

from __future__ import annotations

from typing import Any

from liquid import Environment

_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}


def money(value: Any, currency: str = "GBP") -> str:
    """12.5 → "£12.50"; text that is not a number is returned as it is."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    symbol = _SYMBOLS.get(str(currency).upper())
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def register_filters(env: Environment) -> None:
    env.filters["money"] = money

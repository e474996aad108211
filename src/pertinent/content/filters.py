"""Liquid filters Pertinent adds for email, registered through python-liquid's public API.

    {{ event.properties.price | money }}                 £28.79 (the workspace's currency)
    {{ p.price | money: "EUR", "de_DE" }}                28,79 €
    {{ event.timestamp | date: "%H:%M" }}                in the person's time zone
    {{ profile.trial_ends_at | date: "long" }}           1 March 2026, in the person's language
    {{ "https://shop.example/new" | utm: "spring" }}     the URL with utm_source=pertinent,
                                                         utm_medium=email, utm_campaign=spring

The person's `locale` and `timezone` traits choose the language and zone; the workspace's
`content.locale` and `journeys.timezone` are the fallbacks. A value that is not what a filter
expects is written as it is, never an error: data must not break an email.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency
from liquid import Environment
from liquid.filter import with_context
from liquid.undefined import is_undefined

from pertinent.content.settings import ContentSettings
from pertinent.journeys.timing import person_zone, zone_named

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_NAMED = {"short", "medium", "long", "full"}
NOW = "__now"  # the render's `now`, put in the context by the renderer
TEMPLATE = "__template"  # the template's name, likewise


@lru_cache(maxsize=256)
def _locale(name: str) -> Locale | None:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


@lru_cache(maxsize=8192)
def _money(amount: Decimal, currency: str, locale: Locale) -> str:
    """Formatting is pure, and a shop's prices repeat from email to email."""
    return str(format_currency(amount, currency, locale=locale))


def _trait(context: Any, name: str) -> str | None:
    profile = context.resolve("profile", default=None)
    value = profile.get(name) if isinstance(profile, Mapping) else None
    return value if isinstance(value, str) else None


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _instant(value: Any, context: Any) -> datetime | date | None:
    if value in ("now", "today"):
        now = context.resolve(NOW, default=None)
        return now if isinstance(now, datetime) else None
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def make_filters(settings: ContentSettings, default_zone: ZoneInfo) -> dict[str, Any]:
    """The filters, with the workspace's defaults (`default_zone`: for people without a
    valid `timezone` trait)."""

    @with_context
    def money(value: Any, currency: Any = None, locale: Any = None, *, context: Any) -> str:
        amount = _amount(value)
        if amount is None:
            return "" if value is None or is_undefined(value) else str(value)
        code = currency if isinstance(currency, str) and _CURRENCY.match(currency) else None
        chosen = (
            _locale(str(locale or _trait(context, "locale") or ""))
            or _locale(settings.locale)
            or Locale("en")
        )
        return _money(amount, code or settings.currency, chosen)

    @with_context
    def date_filter(value: Any, fmt: Any = "long", zone: Any = None, *, context: Any) -> str:
        instant = _instant(value, context)
        if instant is None:
            return "" if value is None or is_undefined(value) else str(value)
        if isinstance(instant, datetime):
            profile = context.resolve("profile", default=None)
            tz = zone_named(str(zone)) if zone else None
            tz = tz or person_zone(profile if isinstance(profile, Mapping) else {}, default_zone)
            aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
            instant = aware.astimezone(tz)
        if str(fmt) in _NAMED:
            chosen = _locale(_trait(context, "locale") or "") or _locale(settings.locale)
            return str(format_date(instant, str(fmt), locale=chosen or Locale("en")))
        try:
            return instant.strftime(str(fmt))
        except ValueError:
            return str(value)

    @with_context
    def utm(
        value: Any,
        campaign: Any = None,
        content: Any = None,
        *,
        source: Any = "pertinent",
        medium: Any = "email",
        context: Any,
    ) -> str:
        url = "" if value is None or is_undefined(value) else str(value)
        if not url.startswith(("https://", "http://")):
            return url
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        present = {k for k, _ in query}
        name = campaign if campaign else context.resolve(TEMPLATE, default="")
        wanted = {
            "utm_source": source,
            "utm_medium": medium,
            "utm_campaign": name,
            "utm_content": content,
        }
        query += [(k, str(v)) for k, v in wanted.items() if v and k not in present]
        return urlunsplit(parts._replace(query=urlencode(query)))

    return {"money": money, "date": date_filter, "utm": utm}


def register_filters(env: Environment, settings: ContentSettings, zone: ZoneInfo) -> None:
    for name, function in make_filters(settings, zone).items():
        env.filters[name] = function

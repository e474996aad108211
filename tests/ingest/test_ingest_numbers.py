"""E-commerce numbers sent as strings: a plain decimal becomes that number, anything else is
kept exactly as sent (never a different number, never null)."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.ingest.pipeline import prepare


def _revenue(sent: Any) -> Any:
    """The stored `revenue` (and a product's `price`) of an Order Completed sending `sent`."""
    raw = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties": {"revenue": sent, "products": [{"product_id": "p1", "price": sent}]},
    }
    prepared = prepare([raw], received_at=START)
    events, rejections = prepared.events, prepared.rejections
    assert rejections == []
    # Through JSON, as the log stores it: a NaN float would come back as null.
    properties = orjson.loads(orjson.dumps(events[0].properties))
    assert properties["products"][0]["price"] == properties["revenue"]
    return properties["revenue"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("12.50", 12.5), (" 7 ", 7), ("-3", -3), ("+0.25", 0.25), ("1e3", 1000.0), (".5", 0.5)],
)
def test_plain_decimal_strings_become_numbers(sent: str, stored: float) -> None:
    result = _revenue(sent)
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(
    "sent",
    [
        "12,50",
        "1,299.50",
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "1e400",
        "1e-400",
        "1_000",
        "0x10",
        "\u0661\u0662",  # Arabic-Indic digits
        "12 EUR",
        "1.2.3",
        "",
        "99999999999999999999",
    ],
)
def test_anything_else_is_kept_as_sent(sent: str) -> None:
    assert _revenue(sent) == sent


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_written_as_text_comes_back_as_itself(number: float) -> None:
    assert _revenue(str(number)) == number
    assert _revenue(f" {number!r}\n") == number


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_64_bit_integer_written_as_text_comes_back_as_that_integer(number: int) -> None:
    assert _revenue(str(number)) == number


# Without NUL, which no text may hold (see test_pipeline), and lone surrogates, which no JSON
# parser lets through.
@given(
    st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"])).filter(
        lambda s: not set(s.strip()) <= set("0123456789+-.eE")
    )
)
def test_a_string_with_anything_but_digits_sign_dot_exponent_is_unchanged(sent: str) -> None:
    assert _revenue(sent) == sent


@given(st.text(alphabet="0123456789+-.eE_, ", max_size=12))
def test_a_string_changes_only_into_the_finite_number_it_spells(sent: str) -> None:
    stored = _revenue(sent)
    if stored != sent:
        assert isinstance(stored, int | float)
        assert math.isfinite(stored)
        assert "_" not in sent and "," not in sent
        assert stored == float(sent)

"""Golden files: every example template rendered for one known person, compared with
tests/content/golden/<template>.html and .txt. A change to a template, a filter, MJML or the
inliner shows up as a diff to review. To accept a change:

    PERTINENT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/content/test_golden.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest

from pertinent.content.render import Renderer

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PERTINENT_UPDATE_GOLDEN") == "1"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PRODUCTS = [
    {
        "item_id": "sku-0001",
        "title": "Classic Kettle",
        "url": "https://shop.example/p/sku-0001",
        "price": 39.0,
        "category": "Kitchen",
    },
    {
        "item_id": "sku-0002",
        "title": "Tea & Biscuits <Gift Box>",
        "url": "https://shop.example/p/sku-0002",
        "price": 12.5,
        "category": "Kitchen",
    },
    {"item_id": "sku-0003", "title": None, "url": None, "price": None},
]
CONTEXT = {
    "profile": {
        "id": "u1",
        "first_name": "Ann",
        "city": "Leeds",
        "segments": ["cart_abandoners"],
        "computed": {"favourite_category": "Kitchen"},
    },
    "event": {
        "name": "Product Added",
        "properties": {
            "product_id": "k1",
            "name": "Blue Kettle",
            "price": 28.79,
            "currency": "GBP",
            "url": "https://shop.example/p/k1",
            "image_url": "https://shop.example/img/k1.jpg",
            "order_id": "O-1001",
        },
    },
    "journey": {"key": "cart_abandonment", "step": 1},
    "recommendations": {"for_you": PRODUCTS, "similar_to": PRODUCTS},
}


EXAMPLES = sorted(
    p.name
    for p in (files("pertinent") / "workspace_template" / "templates").iterdir()
    if (p / "subject.liquid").is_file()
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_template_renders_as_its_golden_file(
    examples: Path, renderer_for: Callable[..., Renderer], name: str
) -> None:
    email = renderer_for(examples, ("shop.example",)).render(
        name, CONTEXT, message_id="0123456789abcdef0123456789abcdef", now=NOW
    )
    text = f"Subject: {email.subject}\nPreheader: {email.preheader}\n\n{email.text}"
    for suffix, rendered in ((".html", email.html), (".txt", text)):
        path = GOLDEN / f"{name}{suffix}"
        if UPDATE:
            path.parent.mkdir(exist_ok=True)
            path.write_text(rendered, encoding="utf-8")
        assert path.is_file(), f"no golden file {path}: run with PERTINENT_UPDATE_GOLDEN=1"
        assert rendered == path.read_text(encoding="utf-8"), f"{path} differs"

"""Products: what can be recommended, with the fields a template shows.

Products arrive three ways: from e-commerce events as they are processed ("Product Viewed",
"Product Added", "Order Completed" products[]), from `pertinent import products FILE.csv`, and
from `PUT /v1/products`. Fields not listed here are kept in `extra`.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pertinent.errors import InputError
from pertinent.events.model import Event
from pertinent.recommend.interactions import EVENT_KINDS

# Segment e-commerce spec v2 property names → catalogue fields.
_SPEC_FIELDS = {"name": "title", "image_url": "image"}
_TEXT_FIELDS = {"name", "title", "url", "image_url", "image", "category"}
# Properties of the event (this view, this cart line, this order), not of the product.
_NOT_PRODUCT_FIELDS = {
    "product_id",
    "sku",
    "quantity",
    "position",
    "coupon",
    "currency",
    "value",
    "revenue",
    "total",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "order_id",
    "cart_id",
    "checkout_id",
    "list_id",
    "products",
    "created_at",
}


class Product(BaseModel):
    model_config = ConfigDict(extra="allow")

    item_id: str = Field(min_length=1, max_length=256)
    title: str | None = None
    url: str | None = None
    image: str | None = None
    price: float | None = Field(default=None, ge=0)
    category: str | None = None
    in_stock: bool = True
    created_at: datetime | None = None

    def extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def combine(old: Product, new: Product) -> Product:
    """`new` over `old`: fields `new` does not set keep their old value; first seen stays."""
    fields = {
        **old.model_dump(exclude_none=True),
        **new.model_dump(exclude_unset=True, exclude_none=True, exclude={"created_at"}),
    }
    if old.created_at is None and new.created_at is not None:
        fields["created_at"] = new.created_at
    return Product(**fields)


def product_from_properties(props: dict[str, Any], seen_at: datetime) -> Product | None:
    """A product as an e-commerce event describes it (None when it names no product)."""
    item = props.get("product_id") or props.get("sku")
    if item is None or isinstance(item, bool):
        return None
    fields: dict[str, Any] = {"item_id": str(item), "created_at": seen_at}
    for key, value in props.items():
        if key in _NOT_PRODUCT_FIELDS or not isinstance(value, str | int | float | bool):
            continue
        if key in _TEXT_FIELDS:
            if isinstance(value, str) and value:
                fields[_SPEC_FIELDS.get(key, key)] = value
        elif key == "price":
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                fields["price"] = float(value)
        elif key == "in_stock":
            if isinstance(value, bool):
                fields["in_stock"] = value
        elif key not in Product.model_fields:
            fields[key] = value  # brand, variant ...: kept as the shop sent them
    return Product(**fields)


def product_bags(event: Event) -> list[dict[str, Any]]:
    """The property bags of the products an e-commerce event mentions (the event's own
    properties, or each of its `products`)."""
    if event.action not in EVENT_KINDS:
        return []
    bags = event.properties.get("products")
    candidates = bags if isinstance(bags, list) else [event.properties]
    return [bag for bag in candidates if isinstance(bag, dict)]


def products_in(event: Event) -> list[Product]:
    """The products an e-commerce event mentions."""
    found = (product_from_properties(bag, event.timestamp) for bag in product_bags(event))
    return [p for p in found if p is not None]


def load_products_csv(path: Path) -> tuple[list[Product], list[tuple[int, str, str]]]:
    """Products from a CSV with an `item_id` column (other known columns optional, unknown ones
    kept); returns the valid products and (line, field, reason) for each invalid row."""
    products: list[Product] = []
    errors: list[tuple[int, str, str]] = []
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    with handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            fields = {k: v for k, v in row.items() if k and v not in (None, "")}
            try:
                products.append(Product.model_validate(fields))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                errors.append((number, ".".join(str(p) for p in err["loc"]), err["msg"]))
    return products, errors

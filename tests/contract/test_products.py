"""The product catalogue behaves the same on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from conftest import START

from pertinent.recommend.catalogue import Product, product_from_properties
from pertinent.storage.sql.storage import SqlStorage

LAMP = Product(
    item_id="lamp",
    title="Desk lamp",
    url="https://shop.example/p/lamp",
    image="https://shop.example/i/lamp.jpg",
    price=39.9,
    category="lighting",
    in_stock=True,
    created_at=START,
    brand="Lumo",
    colours=3,
)


def test_products_round_trip_with_the_fields_the_shop_invented(storage: SqlStorage) -> None:
    mug = Product(item_id="mug", title="Mug")
    with storage.transaction() as tx:
        tx.products.upsert([LAMP, mug])
    with storage.snapshot() as tx:
        got = tx.products.get(["lamp", "ghost"])
        everything = tx.products.all()
    assert got == {"lamp": LAMP}, "unknown ids are simply absent"
    assert got["lamp"].extra() == {"brand": "Lumo", "colours": 3}
    assert got["lamp"].created_at == START
    assert set(everything) == {"lamp", "mug"}
    assert everything["mug"].in_stock and everything["mug"].price is None


def test_an_update_that_leaves_fields_out_keeps_their_stored_values(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        tx.products.upsert([LAMP])
    with storage.transaction() as tx:
        tx.products.upsert([Product(item_id="lamp", price=29.9, created_at=START + timedelta(1))])
    with storage.snapshot() as tx:
        lamp = tx.products.get(["lamp"])["lamp"]
    assert lamp.price == 29.9
    assert (lamp.title, lamp.category, lamp.image) == ("Desk lamp", "lighting", LAMP.image)
    assert lamp.extra() == {"brand": "Lumo", "colours": 3}
    assert lamp.created_at == START, "first seen stays first seen"


def test_out_of_stock_survives_a_later_event_naming_the_product(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        tx.products.upsert([LAMP.model_copy(update={"in_stock": False})])
    viewed = product_from_properties(
        {"product_id": "lamp", "name": "Desk lamp (new)", "quantity": 1}, START + timedelta(1)
    )
    assert viewed is not None
    with storage.transaction() as tx:
        tx.products.upsert([viewed])
    with storage.snapshot() as tx:
        lamp = tx.products.get(["lamp"])["lamp"]
    assert lamp.in_stock is False
    assert lamp.title == "Desk lamp (new)"
    assert "quantity" not in lamp.extra()

"""Products as shops describe them: in e-commerce events, in a CSV, on the command line."""

from __future__ import annotations

from pathlib import Path

from conftest import START
from typer.testing import CliRunner

from pertinent.app import open_system
from pertinent.cli import app
from pertinent.recommend.catalogue import load_products_csv, product_from_properties
from pertinent.scaffold import write_example_workspace


def test_an_event_describes_the_product_in_segment_spec_names() -> None:
    product = product_from_properties(
        {
            "product_id": 507,
            "name": "Desk lamp",
            "image_url": "https://shop.example/i/507.jpg",
            "price": 39.9,
            "category": "lighting",
            "brand": "Lumo",
            "in_stock": False,
            "quantity": 2,
            "coupon": "SPRING",
            "position": 3,
        },
        START,
    )
    assert product is not None
    assert product.item_id == "507"
    assert (product.title, product.image) == ("Desk lamp", "https://shop.example/i/507.jpg")
    assert (product.price, product.category, product.in_stock) == (39.9, "lighting", False)
    assert product.extra() == {"brand": "Lumo"}, (
        "the view's quantity and coupon are not the product's"
    )
    assert product.created_at == START


def test_an_event_with_a_sku_but_no_product_id_still_names_the_product() -> None:
    product = product_from_properties({"sku": "LAMP-1", "name": "Lamp"}, START)
    assert product is not None and product.item_id == "LAMP-1"
    assert product_from_properties({"name": "Lamp", "quantity": 1}, START) is None


def test_a_non_boolean_in_stock_in_an_event_does_not_mark_the_product_out_of_stock() -> None:
    product = product_from_properties({"product_id": "p", "in_stock": "no"}, START)
    assert product is not None
    assert "in_stock" not in product.model_fields_set, "left unset, so a stored value stays"
    assert product.in_stock


CSV = """item_id,title,price,category,in_stock,brand
lamp,Desk lamp,39.9,lighting,true,Lumo
mug,Mug,-2,kitchen,true,
vase,Vase,12,decor,maybe,
rug,Rug,99,decor,false,
"""


def test_a_products_csv_keeps_the_good_rows_and_names_each_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(CSV)
    products, errors = load_products_csv(path)
    assert [p.item_id for p in products] == ["lamp", "rug"]
    assert [(line, field) for line, field, _ in errors] == [(3, "price"), (4, "in_stock")]
    lamp, rug = products
    assert (lamp.price, lamp.in_stock, lamp.extra()) == (39.9, True, {"brand": "Lumo"})
    assert rug.in_stock is False
    assert "brand" not in rug.extra(), "an empty cell is not a value"


def test_importing_products_prints_counts_and_stores_them(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    write_example_workspace(workspace)
    path = tmp_path / "products.csv"
    path.write_text(CSV)
    result = CliRunner().invoke(
        app, ["import", "products", str(path), "--workspace", str(workspace)]
    )
    assert result.exit_code == 1, "rows were rejected: " + result.output
    assert "2 products imported, 2 rejected" in result.output
    assert "in_stock" in result.output and "price" in result.output
    system = open_system(workspace)
    try:
        with system.storage.snapshot() as tx:
            stored = tx.products.all()
    finally:
        system.close()
    assert set(stored) == {"lamp", "rug"}
    assert stored["lamp"].title == "Desk lamp"

"""The product catalogue on SQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from pertinent.recommend.catalogue import Product, combine
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import upsert

_T = tables.products
_COLUMNS = ("title", "url", "image", "price", "category", "in_stock", "created_at")


class SqlProductStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def upsert(
        self, products: Sequence[Product], described_by: Mapping[str, str] | None = None
    ) -> None:
        """Write products; fields a product does not set keep their stored value (an event
        naming only a product id must not wipe its title, nor a price update its category).
        A product that would come out as it is stored is not written again."""
        by_id = {p.item_id: p for p in products}
        if not by_id:
            return
        stored = self.get(sorted(by_id))
        rows = []
        for item_id in sorted(by_id):
            old = stored.get(item_id)
            product = combine(old, by_id[item_id]) if old is not None else by_id[item_id]
            if product == old:
                continue
            row: dict[str, Any] = {c: getattr(product, c) for c in _COLUMNS}
            describer = (described_by or {}).get(item_id)
            rows.append(
                {"item_id": item_id, **row, "extra": product.extra(), "described_by": describer}
            )
        upsert(self._conn, _T, rows, keys=["item_id"])

    def get(self, item_ids: Sequence[str]) -> dict[str, Product]:
        found: dict[str, Product] = {}
        for start in range(0, len(item_ids), 500):
            chunk = list(item_ids[start : start + 500])
            for row in self._conn.execute(select(_T).where(_T.c.item_id.in_(chunk))):
                found[row.item_id] = _product(row)
        return found

    def share(self, item_ids: Collection[str]) -> None:
        if item_ids:
            self._conn.execute(
                update(_T).where(_T.c.item_id.in_(sorted(item_ids))).values(described_by=None)
            )

    def all(self) -> dict[str, Product]:
        return {row.item_id: _product(row) for row in self._conn.execute(select(_T))}


def _product(row: Any) -> Product:
    return Product(
        item_id=row.item_id,
        title=row.title,
        url=row.url,
        image=row.image,
        price=row.price,
        category=row.category,
        in_stock=row.in_stock,
        created_at=row.created_at,
        **(row.extra or {}),
    )

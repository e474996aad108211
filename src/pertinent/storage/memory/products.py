"""The product catalogue in memory."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from pertinent.recommend.catalogue import Product, combine
from pertinent.storage.memory.state import State, stored_product


class MemoryProductStore:
    def __init__(self, state: State):
        self._state = state

    def upsert(
        self, products: Sequence[Product], described_by: Mapping[str, str] | None = None
    ) -> None:
        """Write products; fields a product does not set keep their stored value (an event
        naming only a product id must not wipe its title, nor a price update its category).
        Of one id named twice in a call, the last is written, as in the SQL adapter."""
        stored = self._state.products
        for item_id, product in {p.item_id: p for p in products}.items():
            old = stored.get(item_id)
            new = stored_product(combine(old, product) if old is not None else product)
            if new == old:
                continue  # as the SQL adapter: an unchanged product keeps its describer
            stored[item_id] = new
            describer = (described_by or {}).get(item_id)
            if describer is None:
                self._state.product_describers.pop(item_id, None)
            else:
                self._state.product_describers[item_id] = describer

    def get(self, item_ids: Sequence[str]) -> dict[str, Product]:
        stored = self._state.products
        return {i: stored_product(stored[i]) for i in item_ids if i in stored}

    def share(self, item_ids: Collection[str]) -> None:
        for item_id in item_ids:
            self._state.product_describers.pop(item_id, None)

    def all(self) -> dict[str, Product]:
        return {i: stored_product(p) for i, p in self._state.products.items()}

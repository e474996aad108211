"""The simulated shop's catalogue: products in categories with plausible prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    # category: (min price, max price, product nouns)
    "Electronics": (15, 400, ("Headphones", "Speaker", "Charger", "Smart Lamp", "Keyboard")),
    "Books": (6, 35, ("Novel", "Cookbook", "Atlas", "Field Guide", "Poetry Collection")),
    "Garden": (5, 120, ("Watering Can", "Seed Tray", "Pruning Shears", "Planter", "Hose")),
    "Fashion": (12, 150, ("Scarf", "Tote Bag", "Rain Jacket", "Wool Hat", "Sneakers")),
    "Toys": (8, 80, ("Puzzle", "Building Set", "Plush Bear", "Kite", "Board Game")),
    "Kitchen": (6, 160, ("Kettle", "Chef Knife", "Teapot", "Mixing Bowl", "Coffee Grinder")),
}
_ADJECTIVES = ("Blue", "Classic", "Compact", "Deluxe", "Handmade", "Vintage", "Eco", "Bright")


@dataclass(frozen=True)
class SimProduct:
    item_id: str
    title: str
    category: str
    price: float

    @property
    def url(self) -> str:
        return f"https://shop.example/p/{self.item_id}"

    @property
    def image(self) -> str:
        return f"https://shop.example/img/{self.item_id}.jpg"

    def properties(self) -> dict[str, object]:
        """The product as Segment's e-commerce spec describes it."""
        return {
            "product_id": self.item_id,
            "name": self.title,
            "category": self.category,
            "price": self.price,
            "url": self.url,
            "image_url": self.image,
        }


def make_catalogue(rng: np.random.Generator, n_products: int) -> list[SimProduct]:
    names = list(CATEGORIES)
    products = []
    for index in range(n_products):
        category = names[index % len(names)]
        low, high, nouns = CATEGORIES[category]
        price = round(float(np.exp(rng.uniform(np.log(low), np.log(high)))), 2)
        title = f"{_ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))]} {nouns[index % len(nouns)]}"
        products.append(SimProduct(f"sku-{index + 1:04d}", title, category, price))
    return products

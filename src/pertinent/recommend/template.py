"""`recommendations` in a template's context: lazy, so an email that never mentions it never
computes it.

    {% for p in recommendations.for_you limit: 4 %} ... {% endfor %}
    {% for p in recommendations.similar_to %}   (similar to the trigger event's product)
    {% for p in recommendations.popular_in["Garden"] %}

Each item has the catalogue fields (`title`, `url`, `image`, `price`, `category` ...); its
link is tracked like every link in the email. The ids offered are recorded on `email_sent`
(`recommended`), so clicks and orders can be attributed to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pertinent.recommend.serve import Answer, RecommendationService

DEFAULT_COUNT = 8


class _PopularIn(Mapping[str, list[dict[str, Any]]]):
    def __init__(self, fetch: Callable[[str], list[dict[str, Any]]]):
        self._fetch = fetch

    def __getitem__(self, category: str) -> list[dict[str, Any]]:
        return self._fetch(category)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class TemplateRecommendations(Mapping[str, Any]):
    def __init__(
        self,
        service: RecommendationService,
        profile_id: str,
        now: datetime,
        *,
        product_id: str | None = None,
        leaning: Callable[[], list[str]] | None = None,
        count: int = DEFAULT_COUNT,
    ):
        self._service = service
        self._profile_id = profile_id
        self._now = now
        self._product_id = product_id
        self._leaning = leaning
        self._count = count
        self._computed: dict[str, list[dict[str, Any]]] = {}
        self.served_ids: list[str] = []

    def _serve(self, key: str, make: Callable[[], Answer | None]) -> list[dict[str, Any]]:
        if key not in self._computed:
            answer = make()
            items = [r.as_dict() for r in answer.items] if answer is not None else []
            self._computed[key] = items
            self.served_ids.extend(
                i["item_id"] for i in items if i["item_id"] not in self.served_ids
            )
        return self._computed[key]

    def __getitem__(self, key: str) -> Any:
        match key:
            case "for_you":
                return self._serve(
                    key,
                    lambda: self._service.for_you(
                        self._profile_id, self._count, now=self._now, leaning=self._leaning
                    ),
                )
            case "similar_to":
                product = self._product_id
                return self._serve(
                    key, lambda: self._service.similar_to(product, self._count) if product else None
                )
            case "popular_in":
                return _PopularIn(
                    lambda c: self._serve(
                        f"popular_in:{c}", lambda: self._service.popular_in(c, self._count)
                    )
                )
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("for_you", "similar_to", "popular_in"))

    def __len__(self) -> int:
        return 3

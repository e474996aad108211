"""Recommendations and the product catalogue over HTTP (admin key)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.recommend.catalogue import Product
from pertinent.recommend.serve import leaning_categories


class Trained(BaseModel):
    model: str
    version: int
    users: int
    items: int
    interactions: int
    seconds: float


class Recommended(BaseModel):
    user_id: str
    model: str
    version: int
    items: list[dict[str, Any]]


class Similar(BaseModel):
    item_id: str
    items: list[dict[str, Any]]


class ProductRejection(BaseModel):
    index: int
    field: str
    reason: str


class ProductsWritten(BaseModel):
    accepted: int
    rejected: list[ProductRejection]


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        tags=["recommendations"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    service = system.recommendations

    @router.post("/recommendations/train", response_model=Trained)
    async def train() -> Trained:
        """Train the configured model on the whole log now; returns when it is serving."""
        result = await run_in_threadpool(system.train_recommendations)
        return Trained(**result.__dict__)

    # Async on purpose, and answered with orjson directly (the model above documents it): the
    # work is one indexed read and under a millisecond of NumPy, and a thread-pool hand-off
    # plus response validation would cost more than the recommendation itself.
    @router.get("/recommendations/{user_id}", response_model=Recommended)
    async def recommend(
        user_id: str,
        n: int = Query(10, ge=1, le=100),
        category: str | None = None,
        exclude_seen: bool | None = Query(
            None, description="leave out what the person already saw (default from config)"
        ),
    ) -> Response:
        """Top n for a person; unknown people get the cold-start answer, never an error."""
        with system.storage.snapshot() as tx:
            pid = tx.profiles.resolve("user", user_id) or tx.profiles.resolve("anon", user_id)

            def leaning() -> list[str]:
                state = tx.profiles.load([pid]).get(pid) if pid else None
                if state is None:
                    return []
                traits = service.settings.cold_start_traits
                return leaning_categories(state.traits, state.computed, traits)

            items = service.for_you(
                pid or user_id,
                n,
                category=category,
                now=system.clock.now(),
                leaning=leaning,
                exclude_seen=exclude_seen,
            )
        answer = {
            "user_id": user_id,
            "model": service.settings.model,
            "version": service.current.version,
            "items": [i.as_dict() for i in items],
        }
        return Response(orjson.dumps(answer), media_type="application/json")

    @router.get("/products/{item_id}/similar", response_model=Similar)
    def similar(item_id: str, n: int = Query(10, ge=1, le=100)) -> Similar:
        return Similar(item_id=item_id, items=[i.as_dict() for i in service.similar_to(item_id, n)])

    @router.put("/products", response_model=ProductsWritten)
    async def put_products(body: list[Any] = Body(...)) -> ProductsWritten:
        """Create or update products in bulk: the fields sent replace the stored ones, fields
        left out keep their value; invalid products are named, valid ones kept."""
        good: list[Product] = []
        rejected: list[ProductRejection] = []
        for index, raw in enumerate(body):
            try:
                good.append(Product.model_validate(raw))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                rejected.append(
                    ProductRejection(
                        index=index,
                        field=".".join(str(p) for p in err["loc"]) or "(product)",
                        reason=err["msg"],
                    )
                )

        def write() -> None:
            with system.storage.transaction() as tx:
                tx.products.upsert(good)

        await run_in_threadpool(write)
        return ProductsWritten(accepted=len(good), rejected=rejected)

    return router

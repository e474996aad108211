"""Recommendations and the product catalogue over HTTP (admin key)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.recommend.catalogue import Product
from pertinent.recommend.serve import leaning_categories


class Trained(BaseModel):
    model: str = Field(description="the model now serving (under auto, the one it chose)")
    configured: str = Field(description="recommendations.model: auto or a model's name")
    version: int
    users: int
    items: int
    interactions: int
    seconds: float
    selection_seconds: float | None = Field(description="how long auto took to choose")


class Recommended(BaseModel):
    user_id: str
    model: str = Field(
        description="what produced this answer: the model (als, ease …), <model>+catalogue "
        "when new products' descriptions were blended in, cold_start:category or popular"
    )
    version: int
    items: list[dict[str, Any]]


class Similar(BaseModel):
    item_id: str
    model: str = Field(
        description="the model, <model>+catalogue, cold_start:catalogue (a new product, by "
        "its category, name and price band) or popular"
    )
    items: list[dict[str, Any]]


class ServingModel(BaseModel):
    configured: str = Field(description="recommendations.model: auto or a model's name")
    model: str = Field(description="the model serving now")
    version: int
    selection: dict[str, Any] | None = Field(
        description="under auto: the choice (label, reason, chosen_at, evaluated_at, holdout, "
        "people, seconds) and the leaderboard, best first; null for a fixed model"
    )


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

    @router.get("/recommendations/model", response_model=ServingModel)
    def serving_model() -> ServingModel:
        """The model serving now and, under `model: auto`, how it was chosen. (Declared before
        the per-person route, so a person whose id is `model` is asked for by anonymous id or
        through the templates instead.)"""
        snap = service.current
        return ServingModel(
            configured=service.settings.model,
            model=snap.model.name,
            version=snap.version,
            selection=snap.selection.as_dict() if snap.selection else None,
        )

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

            answer = service.for_you(
                pid or user_id,
                n,
                category=category,
                now=system.clock.now(),
                leaning=leaning,
                exclude_seen=exclude_seen,
            )
        body = {
            "user_id": user_id,
            "model": answer.model,
            "version": service.current.version,
            "items": [i.as_dict() for i in answer.items],
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get("/products/{item_id}/similar", response_model=Similar)
    def similar(item_id: str, n: int = Query(10, ge=1, le=100)) -> Similar:
        """Products like this one; n of them whenever the catalogue has n others."""
        answer = service.similar_to(item_id, n)
        return Similar(
            item_id=item_id, model=answer.model, items=[i.as_dict() for i in answer.items]
        )

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

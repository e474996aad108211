"""Phase 1, fold: a micro-batch of log events into profiles, identities and the catalogue.

Pure: the loader hands over every identity the batch carries and every profile it can touch
(the states are the engine's to change); the engine resolves each event to a person, merges
people where identify and alias say so, folds the event into the person, and returns the
effects with the resulting states for the phases after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pertinent.events.model import Event, LoggedEvent
from pertinent.events.system import system_event
from pertinent.processor.effects import (
    Effect,
    EmitEvents,
    ExitSegment,
    LinkIdentities,
    MergeProfiles,
    RecordEvents,
    SaveProfiles,
    UpsertProducts,
)
from pertinent.profiles.fold import apply_event
from pertinent.profiles.identity import IdentityKey, IdentityResolver, identity_keys
from pertinent.profiles.state import ProfileState
from pertinent.recommend.catalogue import Product, combine, product_bags, product_from_properties
from pertinent.storage.ports import AttributedEvent

KEEP_DESCRIPTIONS = 4  # per product: enough for the few ways a shop's events describe one


@dataclass
class FoldState:
    identities: Mapping[IdentityKey, str]
    profiles: dict[str, ProfileState]
    # Open segment memberships of the profiles that may merge away in this batch.
    memberships: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Product descriptions (property bags) already folded into the catalogue, by item id:
    # the same description again changes nothing. The engine adds the batch's new ones.
    described: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Folded:
    effects: list[Effect]
    profiles: dict[str, ProfileState]  # every person the batch touched, as they are now
    inputs: list[tuple[str, Event]]  # (person, event) in log order, bots left out
    created: frozenset[str]  # people the batch made
    merged: frozenset[str]  # people who absorbed someone
    gone: frozenset[str]  # people merged into someone else
    links: dict[IdentityKey, str]  # where each identity of the batch points now


def fold(state: FoldState, batch: Sequence[LoggedEvent], now: datetime) -> Folded:
    resolver = IdentityResolver(state.identities)
    stored = state.profiles
    states: dict[str, ProfileState] = {}
    redirect: dict[str, str] = {}
    merges: list[Effect] = []
    exits: list[Event] = []
    seen_products: dict[str, Product] = {}
    describers: dict[str, str] = {}  # item id -> the person whose event described it last
    described = state.described
    attributed: list[tuple[int, str, Event]] = []
    winners: set[str] = set()

    def state_of(pid: str) -> ProfileState:
        if pid not in states:
            states[pid] = stored.get(pid) or ProfileState(pid)
        return states[pid]

    for logged in batch:
        event = logged.event
        if event.is_bot:
            continue
        pid, losers = resolver.resolve(event)
        for loser in losers:
            absorbed = state_of(loser)
            state_of(pid).absorb(absorbed)
            del states[loser]
            left = sorted(state.memberships.get(loser, ()))
            merges.extend(ExitSegment(key, frozenset({loser}), now) for key in left)
            exits.extend(
                system_event(
                    "segment_exited",
                    pid,
                    {"segment": key, "merged": loser},
                    now,
                    cause=f"merge\x1f{loser}\x1f{key}\x1f{logged.seq}",
                )
                for key in left
            )
            merges.append(MergeProfiles(loser, pid, absorbed.version))
            resolver.merged(loser, pid)
            redirect[loser] = pid
            winners.add(pid)
        apply_event(state_of(pid), event)
        # A browser key ships in the shop's pages: its events describe the person, and never
        # the catalogue every email shows (names, prices, links).
        for bag in () if event.browser_key else product_bags(event):
            # Most events describe a product as one before them did: skip those.
            same_item = described.setdefault(str(bag.get("product_id") or bag.get("sku")), [])
            if bag in same_item:
                continue
            same_item.append(bag)
            del same_item[:-KEEP_DESCRIPTIONS]
            product = product_from_properties(bag, event.timestamp)
            if product is not None:
                earlier = seen_products.get(product.item_id)
                seen_products[product.item_id] = combine(earlier, product) if earlier else product
                describers[product.item_id] = pid
        attributed.append((logged.seq, pid, event))

    def final(pid: str) -> str:
        while pid in redirect:
            pid = redirect[pid]
        return pid

    inputs = [(final(pid), event) for _, pid, event in attributed]
    rows: list[AttributedEvent] = [
        (seq, final(pid), event.action, event.timestamp, event.properties)
        for seq, pid, event in attributed
    ]
    effects: list[Effect] = [
        *merges,
        LinkIdentities(resolver.new_links),
        SaveProfiles(list(states.values())),
        RecordEvents(rows),
        UpsertProducts(
            list(seen_products.values()), {i: final(pid) for i, pid in describers.items()}
        ),
        EmitEvents(exits),
    ]
    return Folded(
        effects=effects,
        profiles=states,
        inputs=inputs,
        created=frozenset(pid for pid in states if pid not in stored),
        merged=frozenset(final(pid) for pid in winners),
        gone=frozenset(redirect),
        links=resolver.links_of(identity_keys(logged.event for logged in batch)),
    )

"""Who gets which variant: a stable hash of (experiment, person), sticky across merges.

A person's bucket is a number in [0, 1) drawn from a keyed hash of the experiment key and
their profile id, so every process, every replay and every run agrees without storing
anything. Weights cut [0, 1) into consecutive intervals, one per variant, in the order the
experiment lists them.

Sticky across merges. The log is the memory: each `email_sent` of an experiment carries its
variant, and those events follow the person through merges (they are attributed to the
surviving profile). So the rule is: *the variant of the person's earliest exposure wins; a
person never exposed is bucketed by the hash of their current (surviving) profile id.* Hashing
the surviving id alone would move a person whose alias merged them into another known
profile to that profile's bucket, after they had already seen a variant; hashing "the first id
ever seen" would need a record the identity graph does not keep, and says nothing about what
the person actually received. What they received is what the analysis must hold fixed.

The workspace holdout is a bucket of its own (salted apart from every experiment), so the
same people are held out of every marketing email, and whether a person is held out does not
depend on which experiments they meet.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate

_SCALE = float(1 << 64)
HOLDOUT_SALT = "pertinent:holdout"


def bucket(salt: str, unit: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, unit): the same on every machine and run."""
    digest = hashlib.blake2b(f"{salt}\x1f{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


@dataclass(frozen=True)
class Exposure:
    """A variant the person received, as their `email_sent` events record it."""

    variant: str
    at: datetime
    seq: int = 0


class Allocation:
    """Variants and their weights, ready to turn buckets into variants quickly."""

    def __init__(self, variants: Sequence[str], weights: Sequence[float]):
        if not variants or len(variants) != len(weights):
            raise ValueError("an allocation needs one weight per variant, and a variant")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = float(sum(weights))
        self.variants = tuple(variants)
        self.shares = tuple(w / total for w in weights)
        # The last edge is forced to 1 so rounding can never leave a bucket unassigned.
        self._edges = [*accumulate(self.shares)][:-1]

    def variant_at(self, u: float) -> str:
        """The variant whose interval holds the bucket `u` (in [0, 1))."""
        return self.variants[bisect_right(self._edges, u)]


def assign(
    experiment: str,
    allocation: Allocation,
    profile_id: str,
    exposures: Sequence[Exposure] = (),
) -> str:
    """The person's variant: that of their earliest exposure to `experiment` if they have one
    (a variant the allocation no longer lists included: they keep what they saw), else the
    one their bucket falls in."""
    if exposures:
        return min(exposures, key=lambda e: (e.at, e.seq)).variant
    return allocation.variant_at(bucket(experiment, profile_id))


def held_out(profile_id: str, share: float) -> bool:
    """Whether the person is in the workspace holdout (receives no marketing email)."""
    if share <= 0:
        return False
    return bucket(HOLDOUT_SALT, profile_id) < share

"""Temporal perturbations of an ordered list (frames, clips or captions), with a difficulty factor ``r``.

TEMPLE (METHODS.md 1.3) builds its rejected responses from perturbed inputs. With ``N`` items:

=========  =====================================================================================
kind       rule
=========  =====================================================================================
drop       keep ``max(1, N // r)`` items chosen at random, in their original order
shuffle    chunk size ``g = max(1, N // r)``; contiguous chunks of ``g`` items; shuffle chunk order
reverse    the same chunks; reverse the chunk order (order inside a chunk kept)
mirror     a stretch of about ``N - N // r`` items, cut at event boundaries, played backwards: its order
           reversed and every item time-reversed (actions replaced by their opposites) -- a plausible reading,
           unlike ``reverse``
=========  =====================================================================================

Larger ``r`` = stronger perturbation = easier pair (the curriculum runs r = 16 -> 8 -> 4 -> 2).
Further kinds are registered the same way, each with the temporal skill it probes. Every perturbation is
seeded from ``(sample id, kind, r, seed)`` through a stable hash, so a rerun (or another machine) gives
the same data.

Deviation from the paper, stated: ``shuffle`` redraws (deterministically) when the drawn order equals the
original, since an identical "rejected" input carries no preference signal; with one chunk it is a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import numpy as np

__all__ = ["PERTURBATIONS", "Perturbation", "TimeReversible", "chunks", "perturb", "perturbation_rng",
           "register_perturbation"]

T = TypeVar("T")
PerturbFn = Callable[[list[T], int, np.random.Generator], list[T]]


@dataclass(frozen=True)
class Perturbation:
    """A registered perturbation: its function and the temporal skill it probes."""

    name: str
    fn: PerturbFn
    probes: str


PERTURBATIONS: dict[str, Perturbation] = {}


def register_perturbation(name: str, probes: str) -> Callable[[PerturbFn], PerturbFn]:
    """Decorator: register ``fn(items, r, rng) -> items`` under ``name`` with a one-line description."""

    def deco(fn: PerturbFn) -> PerturbFn:
        if name in PERTURBATIONS:
            raise ValueError(f"perturbation {name!r} is already registered")
        PERTURBATIONS[name] = Perturbation(name, fn, probes)
        return fn

    return deco


def perturbation_rng(sample_id: str, kind: str, r: int, seed: int) -> np.random.Generator:
    """A generator seeded by a stable hash of ``(sample_id, kind, r, seed)`` (not Python's salted hash)."""
    digest = hashlib.sha256(f"{sample_id}\x1f{kind}\x1f{r}\x1f{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def chunks(items: Sequence[T], r: int) -> list[list[T]]:
    """Contiguous chunks of ``g = max(1, N // r)`` items (the last one may be shorter)."""
    g = max(1, len(items) // r)
    return [list(items[i:i + g]) for i in range(0, len(items), g)]


@register_perturbation("drop", "event completeness: does the response notice missing segments?")
def drop(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    keep = max(1, len(items) // r)
    idx = np.sort(rng.choice(len(items), size=keep, replace=False))
    return [items[i] for i in idx]


@register_perturbation("shuffle", "event order: is the chronology of segments respected?")
def shuffle(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    parts = chunks(items, r)
    if len(parts) < 2:
        return list(items)
    order = list(range(len(parts)))
    for _ in range(16):
        order = rng.permutation(len(parts)).tolist()
        if order != sorted(order):
            break
    return [x for i in order for x in parts[i]]


@register_perturbation("reverse", "arrow of time: are direction-sensitive actions read the right way?")
def reverse(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    return [x for part in reversed(chunks(items, r)) for x in part]


@register_perturbation("speed", "rate: does the response notice a stretch played at r x speed?")
def speed(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    """Fast-forward one contiguous half of the list by keeping every ``max(2, r // 2)``-th item."""
    n = len(items)
    if n < 4:
        return list(items)
    step = max(2, r // 2)
    length = max(2, n // 2)
    start = int(rng.integers(0, n - length + 1))
    return items[:start] + items[start:start + length:step] + items[start + length:]


@register_perturbation("swap", "local order: are two segments swapped in place detected?")
def swap(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    """Swap two distinct chunks of ``max(1, N // r)`` items, leaving everything else in place."""
    parts = chunks(items, r)
    if len(parts) < 2:
        return list(items)
    a, b = sorted(rng.choice(len(parts), size=2, replace=False).tolist())
    parts[a], parts[b] = parts[b], parts[a]
    return [x for part in parts for x in part]


@register_perturbation("freeze", "motion vs stillness: is a frozen stretch told apart from action?")
def freeze(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    """Replace ``max(1, N // r)`` consecutive items by a repeat of the item before them (length kept)."""
    n = len(items)
    if n < 2:
        return list(items)
    length = min(n - 1, max(1, n // r))
    start = int(rng.integers(1, n - length + 1))
    return items[:start] + [items[start - 1]] * length + items[start + length:]


class TimeReversible(Protocol):
    """An item that can be played backwards (``synth.readings.ClipReading``)."""

    def time_reversed(self) -> Any: ...


@register_perturbation("mirror", "arrow of time: is a stretch read backwards (order reversed and every "
                                 "action replaced by its opposite) told apart from the true reading?")
def mirror(items: list[T], r: int, rng: np.random.Generator) -> list[T]:
    """Play a contiguous stretch of about ``N - N // r`` items backwards: the stretch's items in reverse
    order, each one ``time_reversed()``. The stretch starts and ends where the items change (equal neighbours
    are one event: clips of one event), so no event is cut in two -- a cut event would read as "moves left ...
    moves right", a pattern text alone gives away. Among the event-aligned stretches, one whose length is
    closest to ``N - N // r`` is drawn at random. r = 2 reverses about half the list, larger r more (stronger,
    easier); when ``N // r`` is 0 the whole list is reversed: the time-reversed reading of the video, which is
    what its time-reversed twin shows (``world/mirror.py``). Items must be ``TimeReversible``."""
    n = len(items)
    w = n - n // r
    if w < 2:
        return list(items)
    for x in items:
        if not callable(getattr(x, "time_reversed", None)):
            raise TypeError(f"mirror needs items that can be played backwards (time_reversed()), got {type(x).__name__}")
    key = [getattr(x, "caption", x) for x in items]  # clips with the same reading are one event
    bounds = [0] + [i for i in range(1, n) if key[i] != key[i - 1]] + [n]  # event starts, and the end
    spans = [(a, b) for i, a in enumerate(bounds[:-1]) for b in bounds[i + 1:]]
    best = min(abs((b - a) - w) for a, b in spans)
    choices = [(a, b) for a, b in spans if abs((b - a) - w) == best]
    start, end = choices[int(rng.integers(len(choices)))]
    window = [cast(TimeReversible, x).time_reversed() for x in reversed(items[start:end])]
    return items[:start] + window + items[end:]


def perturb(items: Sequence[T], kind: str, r: int, seed: int = 0, sample_id: str = "", attempt: int = 0) -> list[T]:
    """Apply the perturbation ``kind`` with difficulty ``r`` to a copy of ``items``.

    ``tempoforge.synth.perturb(clips, "shuffle", 4, seed=0, sample_id="vid42")`` gives the same list on
    every run; ``attempt > 0`` gives another, equally reproducible draw (used to redraw a perturbation whose
    reading contradicts itself, ``synth/readings.py``). Raises ``ValueError`` for an unknown kind (listing
    the known ones) or ``r < 1``.
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; known: {', '.join(sorted(PERTURBATIONS))}")
    if r < 1:
        raise ValueError(f"r must be >= 1, got {r}")
    items = list(items)
    if not items:
        return []
    sid = sample_id if attempt == 0 else f"{sample_id}\x1fattempt{attempt}"
    return PERTURBATIONS[kind].fn(items, r, perturbation_rng(sid, kind, r, seed))

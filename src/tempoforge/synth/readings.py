"""Clip readings: what each clip of a video shows, read forwards and backwards, and whether a reordered
reading still makes sense as text.

TEMPLE's rejected responses are readings of a perturbed clip sequence (METHODS.md 1.3). A rejected text
that contradicts itself ("the red square appears" while it is already on screen, "the blue square grows"
right after "the blue square turns red") can be rejected without looking at the video, so a preference
learnt on it is a preference about text (issue 17). A :class:`ClipReading` therefore carries, besides its
caption, the caption it has when the clip plays backwards and the visible objects (with their colours) at
its start and end; :func:`contradiction` checks that consecutive readings agree on those states. Readings
come from the ground truth (:func:`oracle_clip_readings`, which uses the ``reversed_caption`` /
``objects_in`` / ``objects_out`` attributes of TempoWorld's dense export) or from plain captions
(:func:`plain_readings`: no states, nothing to check, not reversible).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tempoforge.records import DenseCaptionSample

__all__ = ["NOTHING", "ClipReading", "contradiction", "oracle_clip_readings", "plain_readings"]

NOTHING = "nothing changes"

ObjectStates = tuple[tuple[str, str | None], ...]  # (object id, its colour or None while invisible), sorted


@dataclass(frozen=True)
class ClipReading:
    """One clip as text: its caption, its caption played backwards, and the objects' states at its ends."""

    caption: str
    reversed_caption: str | None = None
    objects_in: ObjectStates | None = None
    objects_out: ObjectStates | None = None
    clip: int = -1  # the clip of the original video this reads (-1: unknown), for rendering a perturbation
    backwards: bool = False  # the clip is played backwards

    def time_reversed(self) -> ClipReading:
        """The clip played backwards: the reversed caption, and the end state first."""
        if self.reversed_caption is None:
            raise ValueError(f"clip {self.caption!r} has no time-reversed reading (not a TempoWorld oracle "
                             "reading, or an action that cannot be played backwards)")
        return ClipReading(self.reversed_caption, self.caption, self.objects_out, self.objects_in, self.clip,
                           not self.backwards)


def plain_readings(captions: Sequence[str]) -> list[ClipReading]:
    """Readings of plain clip captions (e.g. a captioner's): no states, so no contradiction can be found."""
    return [ClipReading(c, clip=i) for i, c in enumerate(captions)]


def _states(raw: Any) -> ObjectStates | None:
    if not isinstance(raw, dict):
        return None
    return tuple(sorted((str(k), None if v is None else str(v)) for k, v in raw.items()))


def oracle_clip_readings(sample: DenseCaptionSample, spans: Sequence[tuple[float, float]]) -> list[ClipReading]:
    """The ground-truth reading of each clip: the segments under its midpoint (``"nothing changes"`` for a
    static stretch), their time-reversed captions in reverse order, and the states at the clip's ends.

    Mirrors ``temple.oracle_clip_captions`` for the forward caption, so both give the same chosen text.
    """
    out: list[ClipReading] = []
    for s, e in spans:
        mid = (s + e) / 2
        under = [ev for ev in sample.events if ev.span.start <= mid < ev.span.end]
        acting = [ev for ev in under if ev.action != "static"]
        caption = "; ".join(ev.caption.strip().rstrip(".") for ev in acting) if acting else NOTHING
        revs = [ev.attributes.get("reversed_caption") for ev in reversed(acting)]
        reversed_caption = ("; ".join(str(r).strip().rstrip(".") for r in revs) if acting else NOTHING) \
            if all(isinstance(r, str) for r in revs) else None
        states_in = [_states(ev.attributes.get("objects_in")) for ev in under]
        states_out = [_states(ev.attributes.get("objects_out")) for ev in under]
        out.append(ClipReading(caption, reversed_caption,
                               states_in[0] if states_in and all(x is not None for x in states_in) else None,
                               states_out[-1] if states_out and all(x is not None for x in states_out) else None,
                               clip=len(out)))
    return out


def _describe(states: ObjectStates, key: str) -> str:
    colour = dict(states).get(key)
    return "invisible" if colour is None else f"visible and {colour}"


def contradiction(readings: Sequence[ClipReading]) -> str | None:
    """Why the text of ``readings`` contradicts itself, or ``None`` when it reads as a possible video.

    Consecutive clips with the same caption are one event (``aggregate_captions`` merges them too); at each
    join the objects both sides know must be equally visible and of the same colour. Readings without
    states are never contradicted.
    """
    merged: list[ClipReading] = []
    for r in readings:
        if merged and merged[-1].caption == r.caption:
            merged[-1] = ClipReading(r.caption, None, merged[-1].objects_in, r.objects_out, r.clip, r.backwards)
        else:
            merged.append(r)
    for a, b in itertools.pairwise(merged):
        if a.objects_out is None or b.objects_in is None:
            continue
        before, after = dict(a.objects_out), dict(b.objects_in)
        for key in sorted(set(before) & set(after)):
            if before[key] != after[key]:
                return (f"the reading contradicts itself: object {key} is {_describe(a.objects_out, key)} after "
                        f"{a.caption!r} but {_describe(b.objects_in, key)} when {b.caption!r} starts")
    return None

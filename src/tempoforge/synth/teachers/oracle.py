"""``oracle`` teacher: TempoWorld's ground truth answers the VER requests (no model, exact by construction).

- ``segment``: the video's dense segment partition (actions, static stretches, transitions) from
  ``world.json``: non-overlapping, covering ``[0, duration]``.
- ``categorize``: every TempoWorld video is ``category`` (default ``animation``): a rendered cartoon.
- ``coherence``: ``VideoScript.causal`` (one protagonist acting in a chain) with a reasoning that names
  the actors; unrelated videos (fresh objects per shot) are incoherent.
- ``masked_event``: the description is the caption of the world segment under the masked span; the
  reasoning cites the events before and after it (step by step, as the paper's teacher is asked to).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tempoforge.synth.teachers.base import (
    Category,
    Coherence,
    MaskedPrediction,
    TeacherError,
    TeacherEvent,
    TeacherSettings,
    TeacherVideo,
)
from tempoforge.timecode import format_seconds

__all__ = ["OracleTeacher"]


class OracleTeacher:
    name = "oracle"
    concurrent = True

    def __init__(self, world: Any, category: str = "animation") -> None:
        self.world = world
        self.category = category

    @classmethod
    def from_settings(cls, settings: TeacherSettings, *, world: Any = None, **_: Any) -> OracleTeacher:
        if world is None:
            raise TeacherError("no_world", "the oracle teacher needs a TempoWorld (world.json)")
        return cls(world)

    def _script(self, video: TeacherVideo) -> Any:
        try:
            return self.world.script(video.id)
        except ValueError as exc:
            raise TeacherError("unknown_video", str(exc)) from None

    def categorize(self, video: TeacherVideo, categories: Sequence[str]) -> Category:
        self._script(video)
        return Category(label=self.category, reasoning="a rendered scene of simple shapes (TempoWorld)")

    def segment(self, video: TeacherVideo) -> list[TeacherEvent]:
        return [TeacherEvent(g.start, g.end, g.caption) for g in self._script(video).segments]

    def coherence(self, video: TeacherVideo, events: Sequence[TeacherEvent]) -> Coherence:
        script = self._script(video)
        actors = sorted({e.subject for e in script.events})
        if script.causal:
            why = (f"Step 1: every event involves {actors[0] if actors else 'the same object'}. Step 2: each "
                   "event starts from the state the previous one left. So the events are causally related.")
        else:
            why = (f"Step 1: the events involve different objects ({', '.join(actors)}) in separate shots. "
                   "Step 2: no event depends on another. So the events are not causally related.")
        return Coherence(coherent=bool(script.causal), reasoning=why)

    def masked_event(self, video: TeacherVideo, events: Sequence[TeacherEvent], masked: int) -> MaskedPrediction:
        script = self._script(video)
        m = events[masked]
        mid = (m.start + m.end) / 2
        seg = next((g for g in script.segments if g.start <= mid < g.end), None)
        if seg is None:
            raise TeacherError("unknown_span", f"{video.id}: no world segment under {m.start}-{m.end} s")
        before = events[masked - 1].description if masked > 0 else None
        after = events[masked + 1].description if masked + 1 < len(events) else None
        return MaskedPrediction(reasoning=masked_reasoning(m.start, m.end, before, after),
                                description=seg.caption.rstrip("."))


def masked_reasoning(start: float, end: float, before: str | None, after: str | None) -> str:
    """The oracle's step-by-step reasoning for a mask ``[start, end]``: what happens just before and just after
    it (the neighbouring events' descriptions, when there are any), then the causal step between them."""
    steps = []
    if before is not None:
        steps.append(f"Before {format_seconds(start)} s, {_lower(before)}")
    if after is not None:
        steps.append(f"After {format_seconds(end)} s, {_lower(after)}")
    steps.append("The masked segment must lead from the first state to the second")
    return " ".join(f"Step {i + 1}: {s.rstrip('.')}." for i, s in enumerate(steps))


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text

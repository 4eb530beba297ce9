"""Validating a teacher's event segmentation (TEMPURA VER, METHODS.md 2.1 step 3).

The events must (1) not overlap, (2) cover the whole video and (3) lie within its duration. A teacher's
small slips are repaired, anything larger is rejected with a reason (the paper only says the boundaries
are "ensured"; these rules are ours):

- events are put in chronological order (by start, then end) — repair ``reordered``;
- a start before 0 by less than ``tolerance`` is clamped to 0 — ``clamped_start``;
- a gap or an overlap between consecutive events shorter than ``tolerance`` is closed at its midpoint —
  ``closed_gap`` / ``closed_overlap``;
- a first event starting less than ``tolerance`` after 0 is extended to 0 — ``extended_start``;
- a last event ending less than ``tolerance`` before / after the duration is moved to it —
  ``extended_end`` / ``clamped_end``.

Rejected (:class:`SegmentationError` with ``code``): no events (``no_events``), a reversed or empty event
(``reversed`` / ``empty_event``), an empty description (``empty_description``), a gap or overlap of
``tolerance`` or more (``gap`` / ``overlap``), an uncovered start or end (``coverage``), an event starting
or ending ``tolerance`` or more outside the video (``outside``), an event that a repair made shorter than
``min_length`` (``too_short``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from tempoforge.synth.teachers.base import TeacherEvent

__all__ = ["CheckedEvents", "SegmentationError", "check_events"]

EPS = 1e-6


class SegmentationError(ValueError):
    """A segmentation that cannot be repaired; ``code`` is counted in ``stats.json``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class CheckedEvents:
    events: list[TeacherEvent]
    repairs: list[str] = field(default_factory=list)  # e.g. "closed_gap 2->3: 0.40 s"


def _r(x: float) -> float:
    return round(x, 6)


def check_events(events: Sequence[TeacherEvent], duration: float, tolerance: float = 1.0,
                 min_length: float = 0.1) -> CheckedEvents:
    """Repair small violations of the three rules or raise :class:`SegmentationError` (see module doc)."""
    if not events:
        raise SegmentationError("no_events", "the teacher returned no events")
    repairs: list[str] = []
    for i, e in enumerate(events):
        if not (math.isfinite(e.start) and math.isfinite(e.end)):
            raise SegmentationError("outside", f"event {i}: non-finite time {e.start}-{e.end}")
        if e.end < e.start:
            raise SegmentationError("reversed", f"event {i}: ends ({e.end}) before it starts ({e.start})")
        if e.end - e.start <= EPS:
            raise SegmentationError("empty_event", f"event {i}: zero length at {e.start} s")
        if not e.description.strip():
            raise SegmentationError("empty_description", f"event {i}: empty description")
    order = sorted(range(len(events)), key=lambda i: (events[i].start, events[i].end))
    if order != list(range(len(events))):
        repairs.append("reordered")
    starts = [float(events[i].start) for i in order]
    ends = [float(events[i].end) for i in order]
    descs = [events[i].description.strip() for i in order]
    n = len(starts)
    for i in range(n):
        if starts[i] < -EPS or ends[i] > duration + EPS:
            over = max(-starts[i], ends[i] - duration)
            if over >= tolerance or (i not in (0, n - 1)):
                raise SegmentationError("outside", f"event {i} ({starts[i]}-{ends[i]} s) lies {over:.2f} s outside "
                                        f"the video [0, {duration}]")
    if starts[0] < -EPS:
        repairs.append(f"clamped_start: {-starts[0]:.2f} s")
        starts[0] = 0.0
    elif starts[0] > EPS:
        if starts[0] >= tolerance:
            raise SegmentationError("coverage", f"the first event starts at {starts[0]} s; 0-{starts[0]} s is not covered")
        repairs.append(f"extended_start: {starts[0]:.2f} s")
        starts[0] = 0.0
    for i in range(n - 1):
        gap = starts[i + 1] - ends[i]
        if abs(gap) <= EPS:
            continue
        code = "gap" if gap > 0 else "overlap"
        if abs(gap) >= tolerance:
            raise SegmentationError(code, f"events {i} and {i + 1}: {code} of {abs(gap):.2f} s "
                                    f"({ends[i]} vs {starts[i + 1]}); tolerance {tolerance} s")
        mid = (ends[i] + starts[i + 1]) / 2
        repairs.append(f"closed_{code} {i}->{i + 1}: {abs(gap):.2f} s")
        ends[i] = starts[i + 1] = mid
    if ends[-1] > duration + EPS:
        repairs.append(f"clamped_end: {ends[-1] - duration:.2f} s")
        ends[-1] = duration
    elif ends[-1] < duration - EPS:
        if duration - ends[-1] >= tolerance:
            raise SegmentationError("coverage", f"the last event ends at {ends[-1]} s; {ends[-1]}-{duration} s "
                                    "is not covered")
        repairs.append(f"extended_end: {duration - ends[-1]:.2f} s")
        ends[-1] = duration
    for i in range(n):
        if ends[i] - starts[i] < min_length - EPS:
            raise SegmentationError("too_short", f"event {i} is {ends[i] - starts[i]:.2f} s long after repair "
                                    f"(minimum {min_length} s)")
    out = [TeacherEvent(_r(s), _r(e), d) for s, e, d in zip(starts, ends, descs, strict=True)]
    return CheckedEvents(out, repairs)

"""TEMPURA training samples: prompts and targets exactly as METHODS.md 2.3, and their parsers.

- Dense event segmentation and captioning (stage 2): prompt ``DENSE_CAPTIONING``; target one line per
  event ``From <s> to <e>, <description>.``
- Masked event prediction (stage 1): prompt ``Given the input video with the masked segment from <s> to
  <e>, ...``; target ``<think>[reasoning]</think><answer>So the description of the predicted event from
  <s> to <e> is: <description></answer>``. The masked frames (``s <= t < e``) are black without a
  timestamp in the model input (``TempuraSample.mask``).

Times are written with :func:`tempoforge.timecode.format_seconds` (one decimal, as in the prompts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from tempoforge.records import Event, Record, Span
from tempoforge.synth.teachers.base import TeacherEvent
from tempoforge.timecode import format_seconds

__all__ = ["TempuraSample", "dense_target", "masked_target", "parse_dense_answer", "parse_masked_answer"]


class TempuraSample(Record):
    """One SFT example of a TEMPURA stage; ``video`` is absolute or relative to the samples file."""

    id: str
    video: str
    task: Literal["masked", "dense"]
    duration: float = Field(gt=0.0)
    prompt: str
    answer: str
    mask: Span | None = Field(default=None, description="masked span (stage 1): its frames are black, no timestamp")
    events: list[Event] = Field(default_factory=list, description="the validated events the target was made from")
    meta: dict[str, Any] = Field(default_factory=dict)


def _sentence(text: str) -> str:
    return text.strip().rstrip(".").strip()


def dense_target(events: Sequence[TeacherEvent]) -> str:
    """``From 0.0 to 2.5, the red circle moves left.`` — one line per event, chronological."""
    return "\n".join(f"From {format_seconds(e.start)} to {format_seconds(e.end)}, {_sentence(e.description)}."
                     for e in events)


def masked_target(reasoning: str, start: float, end: float, description: str) -> str:
    """The stage-1 target (METHODS.md 2.3), verbatim."""
    return (f"<think>{reasoning.strip()}</think><answer>So the description of the predicted event from "
            f"{format_seconds(start)} to {format_seconds(end)} is: {_sentence(description)}</answer>")


_NUM = r"(\d+(?:\.\d+)?)"
_LINE = re.compile(rf"From\s+{_NUM}\s*(?:s|seconds?)?\s+to\s+{_NUM}\s*(?:s|seconds?)?\s*[,:]\s*(.+)", re.I)
_ANSWER = re.compile(rf"<answer>.*?from\s+{_NUM}\s+to\s+{_NUM}\s+is:\s*(.*?)\s*(?:</answer>|$)", re.I | re.S)


def parse_dense_answer(text: str) -> list[tuple[float, float, str]]:
    """``(start, end, description)`` per ``From s to e, description.`` line (other lines ignored)."""
    out = []
    for line in text.splitlines():
        m = _LINE.search(line)
        if m:
            out.append((float(m.group(1)), float(m.group(2)), _sentence(m.group(3))))
    return out


def parse_masked_answer(text: str) -> tuple[str, float, float, str] | None:
    """``(reasoning, start, end, description)`` from a stage-1 answer, or None when it does not parse."""
    m = _ANSWER.search(text)
    if not m:
        return None
    think = re.search(r"<think>(.*?)</think>", text, re.S)
    return (think.group(1).strip() if think else "", float(m.group(1)), float(m.group(2)), _sentence(m.group(3)))

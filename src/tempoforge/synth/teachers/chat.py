"""Prompts and reply parsing shared by the chat teachers (``openai``, ``hf``).

A chat teacher only implements ``ask(prompt, video)`` -> reply text (showing the video its own way:
frame-grid images for an API, time-marked frames for a local VLM). The four VER requests are phrased
here, and every reply must contain one JSON object; a reply without one, or with missing / mistyped
fields, is a :class:`TeacherError` with code ``malformed``.

The prompts paraphrase the paper's steps (METHODS.md 2.1; the paper does not publish its GPT-4o prompts):
segmentation asks for non-overlapping events covering ``[0, duration]``, coherence for step-by-step
reasoning then a yes/no decision, masked-event prediction for reasoning from the other events as text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from tempoforge.synth.teachers.base import (
    Category,
    Coherence,
    MaskedPrediction,
    TeacherError,
    TeacherEvent,
    TeacherVideo,
)
from tempoforge.timecode import format_seconds

__all__ = ["ChatTeacher", "events_text", "extract_json"]

CATEGORIZE = ("Classify this video into exactly one of these categories: {categories}. Look at the frames "
              "(each is marked with its time in seconds). Reply with JSON only: "
              '{{"category": "<one of the categories>", "reasoning": "<one sentence>"}}')
SEGMENT = ("The images show frames of a {duration}-second video sampled at 1 frame per second, in "
           "chronological order, each marked with its time in seconds at the top-left. Partition the whole "
           "video into events: non-overlapping segments in chronological order that together cover 0 to "
           "{duration} seconds, each with a detailed description of what happens. Reply with JSON only: "
           '{{"events": [{{"start": <seconds>, "end": <seconds>, "description": "<text>"}}, ...]}}')
COHERENCE = ("These are the events of a {duration}-second video, in order:\n{events}\nThink step by step "
             "about whether the events are causally or logically related (one leads to the next), then "
             'decide. Reply with JSON only: {{"reasoning": "<your steps>", "coherent": true or false}}')
MASKED = ("These are the events of a {duration}-second video, in order, with the event from {start} to {end} "
          "seconds masked:\n{events}\nReason step by step from the events before and after it, and predict "
          'what happens in the masked segment. Reply with JSON only: {{"reasoning": "<your steps>", '
          '"description": "<the masked event>"}}')


def events_text(events: Sequence[TeacherEvent], masked: int | None = None) -> str:
    """``From 0.0 to 2.5: description`` lines; the masked one reads ``[MASKED]``."""
    lines = []
    for i, e in enumerate(events):
        desc = "[MASKED]" if i == masked else e.description
        lines.append(f"From {format_seconds(e.start)} to {format_seconds(e.end)}: {desc}")
    return "\n".join(lines)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def extract_json(reply: str) -> dict[str, Any]:
    """The first JSON object in ``reply`` (bare, or inside a ```json fence); else ``TeacherError``."""
    candidates = [m.group(1) for m in _FENCE.finditer(reply)] + [reply]
    decoder = json.JSONDecoder()
    for text in candidates:
        for i, ch in enumerate(text):
            if ch != "{":
                continue
            try:
                obj, _ = decoder.raw_decode(text[i:])
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return obj
    raise TeacherError("malformed", f"no JSON object in the teacher's reply: {reply[:200]!r}")


def _text(obj: dict[str, Any], key: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or not v.strip():
        raise TeacherError("malformed", f"the teacher's reply has no text field {key!r}: {json.dumps(obj)[:200]}")
    return v.strip()


def _number(obj: dict[str, Any], key: str, where: str) -> float:
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise TeacherError("malformed", f"{where}: {key!r} is not a number: {v!r}")
    try:
        x = float(str(v).strip().rstrip("s"))
    except ValueError:
        raise TeacherError("malformed", f"{where}: {key!r} is not a number: {v!r}") from None
    if not math.isfinite(x):
        raise TeacherError("malformed", f"{where}: {key!r} is not finite: {v!r}")
    return x


def _yes_no(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("yes", "true", "no", "false"):
        return v.strip().lower() in ("yes", "true")
    raise TeacherError("malformed", f"'coherent' must be true/false or yes/no, got {v!r}")


class ChatTeacher:
    """The four VER requests over ``ask``; subclasses set ``name`` and implement ``ask``."""

    name = "chat"
    concurrent = False

    def ask(self, prompt: str, video: TeacherVideo | None) -> str:
        raise NotImplementedError

    def categorize(self, video: TeacherVideo, categories: Sequence[str]) -> Category:
        obj = extract_json(self.ask(CATEGORIZE.format(categories=", ".join(categories)), video))
        return Category(label=_text(obj, "category"), reasoning=str(obj.get("reasoning", "")))

    def segment(self, video: TeacherVideo) -> list[TeacherEvent]:
        obj = extract_json(self.ask(SEGMENT.format(duration=format_seconds(video.duration)), video))
        raw = obj.get("events")
        if not isinstance(raw, list) or not raw:
            raise TeacherError("malformed", f"the teacher's reply has no 'events' list: {json.dumps(obj)[:200]}")
        out = []
        for i, ev in enumerate(raw):
            if not isinstance(ev, dict):
                raise TeacherError("malformed", f"events[{i}] is not an object: {ev!r}")
            out.append(TeacherEvent(_number(ev, "start", f"events[{i}]"), _number(ev, "end", f"events[{i}]"),
                                    _text(ev, "description")))
        return out

    def coherence(self, video: TeacherVideo, events: Sequence[TeacherEvent]) -> Coherence:
        prompt = COHERENCE.format(duration=format_seconds(video.duration), events=events_text(events))
        obj = extract_json(self.ask(prompt, None))
        if "coherent" not in obj:
            raise TeacherError("malformed", f"the teacher's reply has no 'coherent' field: {json.dumps(obj)[:200]}")
        return Coherence(coherent=_yes_no(obj["coherent"]), reasoning=str(obj.get("reasoning", "")).strip())

    def masked_event(self, video: TeacherVideo, events: Sequence[TeacherEvent], masked: int) -> MaskedPrediction:
        m = events[masked]
        prompt = MASKED.format(duration=format_seconds(video.duration), start=format_seconds(m.start),
                               end=format_seconds(m.end), events=events_text(events, masked))
        obj = extract_json(self.ask(prompt, None))
        return MaskedPrediction(reasoning=_text(obj, "reasoning"), description=_text(obj, "description"))

"""Queries derived from a script: grounding queries, refusal queries and multiple-choice questions.

- ``grounding_queries``: one ``GroundingSample`` per distinct event caption (an object doing the same thing
  twice gives one query with two spans).
- ``refusal_queries``: ``relevant=False`` samples (Tempo-R0's irrelevant queries): ``irrelevant`` names a
  "colour shape" that is never in the video; ``partial`` takes a real event and changes one attribute
  (colour, shape, direction or action) so that nothing in the video matches it any more.
- ``multiple_choice``: temporal questions of four types — ``order`` (which happens first), ``before_after``
  (event 1 relative to event 2), ``count`` (how many times an action / a scene change happens) and
  ``direction`` (which way a direction-sensitive action went; reversing the video flips the answer).

Each function draws from its own ``numpy`` generator seeded by ``(seed, video index, purpose)``, so the
questions of one video do not depend on the other videos.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tempoforge.records import GroundingSample, Span
from tempoforge.timecode import format_seconds
from tempoforge.world.captions import OPPOSITE, describe, subject_name
from tempoforge.world.scene import VideoScript, WorldEvent
from tempoforge.world.vocab import COLORS, SHAPES

__all__ = ["action_key", "grounding_queries", "multiple_choice", "refusal_queries", "video_path"]

_GROUNDING, _REFUSAL, _MCQ = 1, 2, 3


def video_path(script: VideoScript) -> str:
    """Path of the video relative to ``annotations/``, where the JSONL exports live (tempoforge resolves a
    record's ``video`` against the folder of the file it was read from)."""
    return f"../videos/{script.id}.mp4"


def action_key(ev: WorldEvent) -> str:
    """The action with its direction (``WorldEvent.key``): ``move:left``, ``rotate:cw``, ``grow`` ..."""
    return ev.key


def grounding_queries(script: VideoScript, paraphrase_prob: float = 0.0) -> list[GroundingSample]:
    """One relevant query per distinct event caption, spans sorted by start."""
    rng = np.random.default_rng([script.seed, script.index, _GROUNDING])
    groups: dict[str, list[WorldEvent]] = {}
    for ev in sorted(script.events, key=lambda e: (e.start, e.index)):
        groups.setdefault(ev.caption, []).append(ev)
    out = []
    for j, (caption, evs) in enumerate(groups.items()):
        query = caption
        if paraphrase_prob > 0 and rng.random() < paraphrase_prob and evs[0].paraphrases:
            query = str(rng.choice(evs[0].paraphrases))
        out.append(GroundingSample(
            id=f"{script.id}_q{j}", video=video_path(script), query=query, duration=script.duration,
            spans=[Span.of(e.start, e.end) for e in evs], relevant=True, source="tempoworld",
            meta={"canonical": caption, "events": [e.index for e in evs], "action": evs[0].action,
                  "subject": evs[0].subject},
        ))
    return out


def _all_names(script: VideoScript) -> set[str]:
    return set().union(*(script.names_of(o.id) for o in script.objects)) if script.objects else set()


def refusal_queries(script: VideoScript, n_partial: int, n_irrelevant: int) -> list[GroundingSample]:
    """Queries whose correct answer is a refusal (``relevant=False``, no spans)."""
    rng = np.random.default_rng([script.seed, script.index, _REFUSAL])
    names = _all_names(script)
    done_keys = {(e.object_id, action_key(e)) for e in script.events}
    out: list[GroundingSample] = []

    def add(query: str, meta: dict[str, Any]) -> None:
        if any(s.query == query for s in out):
            return
        out.append(GroundingSample(id=f"{script.id}_r{len(out)}", video=video_path(script), query=query,
                                   duration=script.duration, spans=[], relevant=False, source="tempoworld",
                                   meta=meta))

    absent = [f"{c} {s}" for c in COLORS for s in SHAPES if f"{c} {s}" not in names]
    for _ in range(n_irrelevant):
        color, shape = str(rng.choice(absent)).split(" ")
        action = str(rng.choice(["appear", "move", "grow", "shrink", "disappear"]))
        params = {"direction": str(rng.choice(["left", "right", "up", "down"]))}
        add(describe(action, subject_name(color, shape), params)[0], {"kind": "irrelevant", "changed": "object"})

    for _ in range(n_partial * 4):
        if sum(1 for s in out if s.meta["kind"] == "partial") >= n_partial or not script.events:
            break
        ev = script.events[int(rng.integers(len(script.events)))]
        obj = script.objects[ev.object_id]
        color = ev.subject.split(" ")[1]
        change = str(rng.choice(["color", "shape", "direction", "action"]))
        params, action, subject = dict(ev.params), ev.action, ev.subject
        if change == "color":
            options = [c for c in COLORS if f"{c} {obj.shape}" not in names]
            if not options:
                continue
            subject = subject_name(str(rng.choice(options)), obj.shape)
        elif change == "shape":
            options = [s for s in SHAPES if f"{color} {s}" not in names]
            if not options:
                continue
            subject = subject_name(color, str(rng.choice(options)))
        elif change == "direction":
            flipped = _flip(ev)
            if flipped is None:
                continue
            action, params = flipped
        else:
            action = str(rng.choice([a for a in ("appear", "disappear", "grow", "shrink") if a != ev.action]))
            params = {}
        probe = WorldEvent(index=-1, object_id=ev.object_id, action=action, start=0, end=0, shot=0,
                           subject=subject, caption="", paraphrases=[], params=params)
        if change in ("direction", "action") and (ev.object_id, action_key(probe)) in done_keys:
            continue  # the object really does that at some point: not irrelevant
        add(describe(action, subject, params)[0],
            {"kind": "partial", "changed": change, "source_event": ev.index, "true_query": ev.caption})
    return out


def _flip(ev: WorldEvent) -> tuple[str, dict[str, Any]] | None:
    """The event's direction-sensitive opposite (as seen in the reversed video), or None."""
    if ev.action in ("move", "stop"):
        return ev.action, {**ev.params, "direction": OPPOSITE[ev.params["direction"]]}
    if ev.action == "rotate":
        return "rotate", {**ev.params, "clockwise": not ev.params["clockwise"]}
    if ev.action in OPPOSITE:
        return OPPOSITE[ev.action], {}
    return None


def _t(x: float) -> str:
    return format_seconds(x, 1)


def multiple_choice(script: VideoScript, n: int) -> list[dict[str, Any]]:
    """Up to ``n`` questions, cycling through the four types. Each is a dict with ``id``, ``video``,
    ``duration``, ``type``, ``question``, ``options`` (list of str), ``answer`` (index into options),
    ``answer_text`` and ``meta``."""
    rng = np.random.default_rng([script.seed, script.index, _MCQ])
    makers = [_order, _before_after, _count, _direction]
    out: list[dict[str, Any]] = []
    for i in range(n * 3):
        if len(out) >= n:
            break
        q = makers[i % len(makers)](script, rng)
        if q is None or any(o["question"] == q["question"] for o in out):
            continue
        options, answer = q.pop("options"), q.pop("answer")
        perm = rng.permutation(len(options)).tolist() if q["type"] != "count" else list(range(len(options)))
        opts = [options[p] for p in perm]
        out.append({"id": f"{script.id}_m{len(out)}", "video": video_path(script), "duration": script.duration,
                    **q, "options": opts, "answer": perm.index(answer), "answer_text": options[answer]})
    return out


def _distinct_events(script: VideoScript) -> list[WorldEvent]:
    counts: dict[str, int] = {}
    for e in script.events:
        counts[e.caption] = counts.get(e.caption, 0) + 1
    return [e for e in script.events if counts[e.caption] == 1]


def _order(script: VideoScript, rng: np.random.Generator) -> dict[str, Any] | None:
    evs = _distinct_events(script)
    starts = {e.start for e in evs}
    if len(starts) < 2:
        return None
    k = min(3, len(starts))
    chosen: list[WorldEvent] = []
    for idx in rng.permutation(len(evs)).tolist():
        if evs[idx].start not in {c.start for c in chosen}:
            chosen.append(evs[idx])
        if len(chosen) == k:
            break
    first = min(chosen, key=lambda e: e.start)
    return {"type": "order", "question": "Which of these happens first in the video?",
            "options": [c.caption for c in chosen], "answer": chosen.index(first),
            "meta": {"events": [c.index for c in chosen]}}


def _before_after(script: VideoScript, rng: np.random.Generator) -> dict[str, Any] | None:
    evs = _distinct_events(script)
    if len(evs) < 2:
        return None
    i, j = rng.choice(len(evs), size=2, replace=False).tolist()
    a, b = evs[i], evs[j]
    if a.end <= b.start:
        ans = 0
    elif b.end <= a.start:
        ans = 1
    else:
        ans = 2
    question = (f'Event 1: "{a.caption}". Event 2: "{b.caption}". '
                "When does event 1 happen relative to event 2?")
    return {"type": "before_after", "question": question,
            "options": ["before", "after", "at the same time"], "answer": ans,
            "meta": {"events": [a.index, b.index]}}


_COUNT_VERB = {"appear": "appear", "disappear": "disappear", "grow": "grow", "shrink": "shrink",
               "recolor": "change colour", "rotate": "spin", "move": "move"}


def _count(script: VideoScript, rng: np.random.Generator) -> dict[str, Any] | None:
    kind = str(rng.choice(["action", "action", "scene"]))
    if kind == "scene" and len(script.shots) > 1:
        n = len(script.transitions)
        question = "How many times does the scene change to a new one?"
        meta: dict[str, Any] = {"counted": "scene changes"}
    else:
        action = str(rng.choice(sorted(_COUNT_VERB)))
        n = sum(1 for e in script.events if e.action == action or (action == "move" and e.action == "stop"))
        question = f"How many times does an object {_COUNT_VERB[action]}?"
        meta = {"counted": action}
    lo = max(0, n - int(rng.integers(0, 4)))
    options = [str(x) for x in range(lo, lo + 4)]
    return {"type": "count", "question": question, "options": options, "answer": options.index(str(n)),
            "meta": meta}


def _direction(script: VideoScript, rng: np.random.Generator) -> dict[str, Any] | None:
    evs = [e for e in script.events if _flip(e) is not None]
    if not evs:
        return None
    ev = evs[int(rng.integers(len(evs)))]
    where = f"between {_t(ev.start)} and {_t(ev.end)} seconds"
    if ev.action in ("move", "stop"):
        options = ["left", "right", "up", "down"]
        question = f"In which direction does {ev.subject} move {where}?"
        answer = options.index(ev.params["direction"])
    elif ev.action == "rotate":
        options = ["clockwise", "counterclockwise"]
        question = f"Which way does {ev.subject} spin {where}?"
        answer = 0 if ev.params["clockwise"] else 1
    else:
        pair = ("appears", "disappears") if ev.action in ("appear", "disappear") else ("grows", "shrinks")
        options = [f"it {pair[0]}", f"it {pair[1]}"]
        question = f"What happens to {ev.subject} {where}?"
        answer = 0 if ev.action in ("appear", "grow") else 1
    return {"type": "direction", "question": question, "options": options, "answer": answer,
            "meta": {"events": [ev.index], "action": action_key(ev)}}

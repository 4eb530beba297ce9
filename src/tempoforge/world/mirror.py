"""The time-reversed twin of a TempoWorld video: the same world played backwards, as a script of its own.

TempoWorld's actions are reversible: played backwards, an object that moves left moves right, one that grows
shrinks, one that appears disappears, one that turns blue from red turns red from blue (``OPPOSITE`` in
``captions.py``). :func:`mirror_script` builds the script whose rendering at time ``t`` is the original's at
``duration - t``: every object starts in its final state, every event ``[s, e]`` becomes ``[T - e, T - s]``
with its reversed action, and every caption is regenerated from the reversed event (the subject takes the
colour the object has when the reversed event starts).

Why it matters (the TEMPLE study, issue 17): the correct description of the twin is the *time-reversed
reading* of the original's — order reversed *and* each action replaced by its opposite — so it is plausible
text. A probe whose pairs are (video, its caption, its twin's caption) and (twin, twin's caption, video's
caption) is balanced: a scorer that ignores the frames gets exactly 0.5.

Exact for every action but ``stop`` (its ease-out played backwards is an ease-in, which no action draws):
:func:`mirror_script` refuses a script with ``stop``. A rotation by the shape's symmetry angle ends looking
like it started, so the twin's objects start at angle 0 and rotate the other way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tempoforge.world.captions import OPPOSITE, describe, scene_caption, subject_name
from tempoforge.world.scene import (
    ObjectSpec,
    Segment,
    Shot,
    Transition,
    VideoScript,
    WorldEvent,
    object_state,
)

__all__ = ["MIRRORABLE_ACTIONS", "mirror_script", "reversed_action"]

MIRRORABLE_ACTIONS = ("appear", "disappear", "move", "grow", "shrink", "recolor", "rotate")


def reversed_action(action: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The action (and its parameters) seen when ``action`` is played backwards.

    ``reversed_action("move", {"direction": "left", "dx": -9.0, "dy": 0.0}) == ("move", {"direction": "right",
    "dx": 9.0, "dy": 0.0})``; a growth by ``f`` reverses to a shrinking by ``1 / f``.
    """
    if action == "move":
        return "move", {"direction": OPPOSITE[params["direction"]], "dx": -params["dx"], "dy": -params["dy"]}
    if action in ("grow", "shrink"):
        factor = 1.0 / params["factor"]
        return ("grow" if factor > 1.0 else "shrink"), {"factor": factor}
    if action == "recolor":
        return "recolor", {"from_color": params["to_color"], "to_color": params["from_color"]}
    if action == "rotate":
        return "rotate", {"clockwise": not params["clockwise"], "degrees": -params["degrees"]}
    if action in ("appear", "disappear"):
        return OPPOSITE[action], {}
    raise ValueError(f"action {action!r} has no time-reversed twin (reversible: {', '.join(MIRRORABLE_ACTIONS)})")


def mirror_script(script: VideoScript, *, video_id: str | None = None, index: int | None = None) -> VideoScript:
    """The script of ``script`` played backwards (``mirror_of`` names the original)."""
    T = script.duration
    n_shots = len(script.shots)
    shot_map = {s.index: n_shots - 1 - s.index for s in script.shots}
    objects = []
    for obj in script.objects:
        end = object_state(obj, script.events_of(obj.id), T)
        objects.append(ObjectSpec(id=obj.id, shape=obj.shape, color=end.color, x=end.x, y=end.y,
                                  radius=obj.radius * end.scale, visible=end.alpha > 0.5,
                                  shots=sorted(shot_map[s] for s in obj.shots)))
    new_events: list[tuple[float, int, WorldEvent]] = []
    for ev in script.events:
        obj = script.objects[ev.object_id]
        action, params = reversed_action(ev.action, ev.params)
        color = object_state(obj, script.events_of(obj.id), ev.end).color  # the colour the reversed event starts with
        subject = subject_name(color, obj.shape)
        caps = describe(action, subject, params)
        new_events.append((T - ev.end, ev.index, WorldEvent(
            index=-1, object_id=ev.object_id, action=action, start=_t(T - ev.end), end=_t(T - ev.start),
            shot=shot_map[ev.shot], subject=subject, caption=caps[0], paraphrases=caps[1:], params=params,
            concurrent=ev.concurrent, inferable=ev.inferable)))
    new_events.sort(key=lambda x: (x[0], x[1]))
    old_to_new: dict[int, int] = {}
    events = []
    for k, (_, old, ev) in enumerate(new_events):
        old_to_new[old] = k
        events.append(replace(ev, index=k))
    shots = sorted((Shot(index=shot_map[s.index], start=_t(T - s.end), end=_t(T - s.start), background=s.background,
                         objects=list(s.objects)) for s in script.shots), key=lambda s: s.index)
    transitions = sorted((Transition(kind=tr.kind, start=_t(T - tr.end), end=_t(T - tr.start),
                                     to_shot=n_shots - tr.to_shot) for tr in script.transitions),
                         key=lambda tr: tr.start)
    segments = []
    for g in reversed(script.segments):
        idx = sorted((old_to_new[i] for i in g.events), key=lambda i: (events[i].start, i))
        shot = None if g.shot is None else shot_map[g.shot]
        if g.kind == "action":
            caption = " while ".join(events[i].caption for i in idx)
        elif g.kind == "transition":
            kind = next(tr.kind for tr in script.transitions if tr.start == g.start and tr.end == g.end)
            to = next(tr.to_shot for tr in transitions if tr.start == _t(T - g.end))
            caption = scene_caption(kind, shots[to].background)
            shot = to
        else:
            caption = g.caption
        segments.append(Segment(start=_t(T - g.end), end=_t(T - g.start), kind=g.kind, caption=caption,
                                events=idx, shot=shot))
    return VideoScript(id=video_id or f"{script.id}m", index=script.index if index is None else index,
                       seed=script.seed, duration=T, fps=script.fps, width=script.width, height=script.height,
                       causal=script.causal, objects=objects, shots=shots, transitions=transitions, events=events,
                       segments=segments, textured=script.textured, mirror_of=script.id)


def _t(x: float) -> float:
    """Times on the world's grid stay exact numbers (``12.0 - 4.5``, not ``7.499999``)."""
    return round(x, 9)

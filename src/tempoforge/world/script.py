"""Sampling a video script: shots, objects, events with exact spans, static stretches, transitions.

Every random choice comes from ``numpy.random.default_rng([seed, index])``, so video ``index`` of a world
is reproducible on its own, whatever else is generated.

Two kinds of script (``VideoScript.causal``):

- **causal**: one protagonist acts in every event, across 1..``max_shots`` shots (it keeps its state over
  hard cuts; bystanders are still). Every action changes a state that stays visible (position, size,
  colour, presence), so a masked middle event is fixed by the frames before and after it (TEMPURA's
  masked event prediction); these events are marked ``inferable``.
- **unrelated**: 2+ shots, each with fresh objects; events in a shot are done by different objects where
  possible, and shots are joined by cuts or transitions, so neighbouring events say nothing about each
  other (TEMPURA's coherence filter should drop such videos for the masked-event task).

Time is allocated on a grid of ``time_grid`` seconds: transitions get a fixed length, action beats
(>= 2 grid steps) and static beats (>= 2 grid steps) share the rest by random weights. Layout is checked
geometrically: no two objects of a shot overlap at any time and nothing leaves the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tempoforge.errors import UserError
from tempoforge.world.captions import describe, scene_caption, static_caption, subject_name
from tempoforge.world.config import WorldConfig
from tempoforge.world.scene import (
    ObjectSpec,
    Segment,
    Shot,
    Transition,
    VideoScript,
    WorldEvent,
    object_state,
)
from tempoforge.world.vocab import BACKGROUNDS, COLORS, MIN_CUT_DISTANCE, SHAPES, SYMMETRY_DEG, bound_radius

__all__ = ["sample_script", "video_id"]

_CAUSAL_ACTIONS = ("appear", "disappear", "move", "grow", "shrink", "recolor")
_WEIGHTS = {"move": 4.0, "stop": 1.0, "grow": 1.0, "shrink": 1.0, "recolor": 1.5, "rotate": 1.0, "disappear": 0.6}
_GROW, _SHRINK = 1.6, 0.6
_MAX_SCALE, _MIN_SCALE = 1.7, 0.55


class _Retry(Exception):
    """The sampled plan does not fit (layout or names); sample again from the same generator."""


def video_id(index: int) -> str:
    return f"tw{index:05d}"


@dataclass
class _Beat:
    kind: str  # "action" | "static" | "transition"
    shot: int
    n_events: int = 0
    transition: str = ""
    units: int = 0
    start: float = 0.0
    end: float = 0.0
    events: list[int] = field(default_factory=list)


def _plan(cfg: WorldConfig, rng: np.random.Generator, causal: bool, k: int) -> tuple[list[_Beat], int]:
    """The beat sequence (kinds, shots, event counts) before any timing."""
    concurrent_ok = cfg.concurrent_prob > 0 and cfg.max_objects >= 2 and not causal
    # events per action beat (2 = a concurrent pair)
    beats_events: list[int] = []
    left = k
    while left > 0:
        two = concurrent_ok and left >= 2 and rng.random() < cfg.concurrent_prob
        beats_events.append(2 if two else 1)
        left -= beats_events[-1]
    n = len(beats_events)
    if causal:
        n_shots = int(rng.integers(cfg.min_shots, cfg.max_shots + 1))
    else:
        per_shot = max(1, min(cfg.max_shot_events, math.ceil(n / 2)))
        n_shots = max(2 if n >= 2 else 1, math.ceil(n / per_shot))
    n_shots = max(1, min(n_shots, n))
    # split the n action beats into n_shots non-empty groups (unrelated: at most max_shot_events each)
    if causal:
        cuts = sorted(rng.choice(np.arange(1, n), size=n_shots - 1, replace=False).tolist()) if n_shots > 1 else []
    else:
        sizes = [1] * n_shots
        for _ in range(n - n_shots):
            room = [i for i, z in enumerate(sizes) if z < cfg.max_shot_events] or list(range(n_shots))
            sizes[int(rng.choice(room))] += 1
        cuts = np.cumsum(sizes)[:-1].tolist()
    bounds = [0, *cuts, n]
    beats: list[_Beat] = []
    for s in range(n_shots):
        if s > 0:
            kind = "cut"
            if rng.random() < cfg.transition_prob:
                kind = "dissolve" if rng.random() < 0.5 else "fade"
            beats.append(_Beat("transition", s, transition=kind))
        if rng.random() < cfg.static_prob / 2:
            beats.append(_Beat("static", s))
        for b in range(bounds[s], bounds[s + 1]):
            beats.append(_Beat("action", s, n_events=beats_events[b]))
            if rng.random() < cfg.static_prob:
                beats.append(_Beat("static", s))
    return beats, n_shots


def _allocate(cfg: WorldConfig, rng: np.random.Generator, beats: list[_Beat]) -> list[_Beat]:
    """Give each beat a whole number of grid units summing to a duration within the config's range."""
    g = cfg.time_grid
    lo, hi = math.ceil(cfg.min_duration / g - 1e-9), math.floor(cfg.max_duration / g + 1e-9)
    # fewer events, shorter video: at most ~1.3 * max_event_length per action beat
    n_actions = sum(1 for b in beats if b.kind == "action")
    hi = max(lo, min(hi, math.floor(1.3 * n_actions * cfg.max_event_length / g)))
    total = int(rng.integers(lo, hi + 1))
    t_units = max(1, round(cfg.transition_length / g))

    def mins(bs: list[_Beat]) -> int:
        return sum(0 if b.transition == "cut" else (t_units if b.kind == "transition" else 2) for b in bs)

    if mins(beats) > total:  # too tight: drop static stretches, then make transitions cuts
        beats = [b for b in beats if b.kind != "static"]
    if mins(beats) > total:
        for b in beats:
            if b.kind == "transition":
                b.transition = "cut"
    total = max(total, mins(beats))
    weights = np.array([
        0.0 if b.kind == "transition" else (rng.uniform(1.0, 2.0) * (1.4 if b.n_events == 2 else 1.0)
                                            if b.kind == "action" else rng.uniform(0.4, 0.9))
        for b in beats
    ])
    base = np.array([0 if b.transition == "cut" else (t_units if b.kind == "transition" else 2) for b in beats])
    extra = total - int(base.sum())
    share = extra * weights / weights.sum()
    units = base + np.floor(share).astype(int)
    remainder = extra - int(np.floor(share).sum())
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    for i in order[:remainder]:
        units[i] += 1
    # an action beat longer than max_event_length keeps that much and leaves the rest still
    cap = max(2, math.floor(cfg.max_event_length / g + 1e-9))
    timed: list[_Beat] = []
    t = 0
    for b, u in zip(beats, units.tolist()):
        parts = [(b, u)]
        if b.kind == "action" and u > cap:
            parts = [(b, cap), (_Beat("static", b.shot), u - cap)]
        for part, n in parts:
            part.units = n
            part.start, part.end = _sec(t, g), _sec(t + n, g)
            t += n
            timed.append(part)
    return _merge_static(timed)


def _merge_static(beats: list[_Beat]) -> list[_Beat]:
    """Adjacent static beats of one shot are one static stretch."""
    out: list[_Beat] = []
    for b in beats:
        if out and b.kind == "static" and out[-1].kind == "static" and out[-1].shot == b.shot:
            out[-1].end, out[-1].units = b.end, out[-1].units + b.units
        else:
            out.append(b)
    return out


def _sec(units: int, grid: float) -> float:
    return round(units * grid, 9)


class _Builder:
    """Adds objects and events to a script while checking layout and naming."""

    def __init__(self, cfg: WorldConfig, rng: np.random.Generator) -> None:
        self.cfg, self.rng = cfg, rng
        self.objects: list[ObjectSpec] = []
        self.events: list[WorldEvent] = []
        self.names: dict[int, set[str]] = {}
        self.base_r = cfg.object_size * min(cfg.width, cfg.height)

    # -- naming -------------------------------------------------------------------------------------
    def _name_taken(self, name: str, except_id: int | None = None) -> bool:
        return any(name in ns for oid, ns in self.names.items() if oid != except_id)

    def state(self, oid: int, t: float) -> Any:
        return object_state(self.objects[oid], [e for e in self.events if e.object_id == oid], t)

    # -- objects ------------------------------------------------------------------------------------
    def add_object(self, shot: Shot, visible: bool) -> int:
        others = [self.state(o, shot.start) for o in shot.objects]
        used_colors = {s.color for s in others}
        shapes_here = {self.objects[o].shape for o in shot.objects}
        fresh_shapes = [x for x in SHAPES if x not in shapes_here] or list(SHAPES)
        for attempt in range(60):
            shape = str(self.rng.choice(fresh_shapes if attempt < 30 else SHAPES))
            color = str(self.rng.choice([c for c in COLORS if c not in used_colors]))
            if self._name_taken(f"{color} {shape}"):
                continue
            r = self.base_r * self.rng.uniform(0.85, 1.15)
            m = bound_radius(shape) * r + 1
            x = self.rng.uniform(m, self.cfg.width - m)
            y = self.rng.uniform(m, self.cfg.height - m)
            obj = ObjectSpec(id=len(self.objects), shape=shape, color=color, x=round(x, 2), y=round(y, 2),
                             radius=round(r, 3), visible=visible, shots=[shot.index])
            if all(self._apart(obj, (obj.x, obj.y, 1.0), o, (s.x, s.y, s.scale)) for o, s in zip(shot.objects, others)):
                self.objects.append(obj)
                self.names[obj.id] = {f"{color} {shape}"}
                shot.objects.append(obj.id)
                return obj.id
        raise _Retry

    def _apart(self, a: ObjectSpec, sa: tuple[float, float, float], b_id: int, sb: tuple[float, float, float]) -> bool:
        b = self.objects[b_id]
        ra = bound_radius(a.shape) * a.radius * sa[2]
        rb = bound_radius(b.shape) * b.radius * sb[2]
        return math.hypot(sa[0] - sb[0], sa[1] - sb[1]) > ra + rb + 2.0

    def _inside(self, obj: ObjectSpec, x: float, y: float, scale: float) -> bool:
        r = bound_radius(obj.shape) * obj.radius * scale
        return r + 1 <= x <= self.cfg.width - r - 1 and r + 1 <= y <= self.cfg.height - r - 1

    def _fits(self, ev: WorldEvent, shot: Shot) -> bool:
        """No overlap with the shot's other objects and inside the frame, at 9 instants of the event."""
        self.events.append(ev)
        try:
            obj = self.objects[ev.object_id]
            for t in np.linspace(ev.start, ev.end, 9):
                s = self.state(ev.object_id, float(t))
                if not self._inside(obj, s.x, s.y, s.scale):
                    return False
                for o in shot.objects:
                    if o != ev.object_id:
                        so = self.state(o, float(t))
                        if not self._apart(obj, (s.x, s.y, s.scale), o, (so.x, so.y, so.scale)):
                            return False
            return True
        finally:
            self.events.pop()

    # -- events -------------------------------------------------------------------------------------
    def add_event(self, oid: int, shot: Shot, start: float, end: float, allowed: tuple[str, ...],
                  concurrent: bool, inferable: bool) -> WorldEvent:
        obj = self.objects[oid]
        s = self.state(oid, start)
        if s.alpha < 0.5:
            candidates = ["appear"]
        else:
            candidates = [a for a in allowed if a != "appear"]
            if obj.shape == "circle" and "rotate" in candidates:
                candidates.remove("rotate")
        for _ in range(30):
            if not candidates:
                break
            w = np.array([_WEIGHTS.get(a, 1.0) for a in candidates])
            action = str(self.rng.choice(candidates, p=w / w.sum()))
            params = self._params(action, obj, s, shot, start)
            if params is None:
                candidates.remove(action)
                continue
            subject = subject_name(s.color, obj.shape)
            caps = describe(action, subject, params)
            ev = WorldEvent(index=len(self.events), object_id=oid, action=action, start=start, end=end,
                            shot=shot.index, subject=subject, caption=caps[0], paraphrases=caps[1:],
                            params=params, concurrent=concurrent, inferable=inferable)
            if self._fits(ev, shot):
                if action == "recolor":
                    self.names[oid].add(f"{params['to_color']} {obj.shape}")
                self.events.append(ev)
                return ev
            if action not in ("move", "stop"):  # a move can be retried with another direction / length
                candidates.remove(action)
        raise _Retry

    def _params(self, action: str, obj: ObjectSpec, s: Any, shot: Shot, t: float) -> dict[str, Any] | None:
        rng, w, h = self.rng, self.cfg.width, self.cfg.height
        if action in ("move", "stop"):
            r = bound_radius(obj.shape) * obj.radius * s.scale + 1
            rooms = {"left": s.x - r, "right": w - r - s.x, "up": s.y - r, "down": h - r - s.y}
            lo = 0.25 * min(w, h)
            dirs = [d for d, room in rooms.items() if room >= lo]
            if not dirs:
                return None
            d = str(rng.choice(dirs))
            room = rooms[d]
            dist = round(float(rng.uniform(lo, min(room, 0.6 * min(w, h)))), 2)
            dx = {"left": -dist, "right": dist}.get(d, 0.0)
            dy = {"up": -dist, "down": dist}.get(d, 0.0)
            return {"direction": d, "dx": dx, "dy": dy}
        if action == "grow":
            return {"factor": _GROW} if s.scale * _GROW <= _MAX_SCALE else None
        if action == "shrink":
            return {"factor": _SHRINK} if s.scale * _SHRINK >= _MIN_SCALE else None
        if action == "recolor":
            others = {self.state(o, t).color for o in shot.objects if o != obj.id}
            options = [c for c in COLORS if c != s.color and c not in others
                       and not self._name_taken(f"{c} {obj.shape}", except_id=obj.id)
                       and f"{c} {obj.shape}" not in self.names[obj.id]]
            if not options:
                return None
            return {"from_color": s.color, "to_color": str(rng.choice(options))}
        if action == "rotate":
            cw = bool(rng.random() < 0.5)
            deg = SYMMETRY_DEG[obj.shape]
            return {"clockwise": cw, "degrees": deg if cw else -deg}
        if action in ("appear", "disappear"):
            return {}
        raise ValueError(f"unknown action {action!r}")


def _pick_background(rng: np.random.Generator, previous: str | None) -> str:
    names = [b for b in BACKGROUNDS if previous is None or
             math.dist(BACKGROUNDS[b], BACKGROUNDS[previous]) >= MIN_CUT_DISTANCE]
    return str(rng.choice(names))


def sample_script(cfg: WorldConfig, seed: int, index: int) -> VideoScript:
    """The script of video ``index`` of the world ``(cfg, seed)``; the same arguments give the same script.

    With ``cfg.mirror_pairs`` an odd ``index`` is the time-reversed twin of video ``index - 1``.
    """
    if cfg.mirror_pairs and index % 2 == 1:
        from tempoforge.world.mirror import mirror_script

        return mirror_script(sample_script(cfg, seed, index - 1), video_id=video_id(index), index=index)
    rng = np.random.default_rng([seed, index])
    for _ in range(200):
        try:
            return _sample_once(cfg, rng, seed, index)
        except _Retry:
            continue
    raise UserError(f"could not lay out video {index} in 200 tries: objects too large for a "
                    f"{cfg.width}x{cfg.height} frame (object_size {cfg.object_size}, max_objects {cfg.max_objects})?")


def _sample_once(cfg: WorldConfig, rng: np.random.Generator, seed: int, index: int) -> VideoScript:
    k = int(rng.integers(cfg.min_events, cfg.max_events + 1))
    allowed_causal = tuple(a for a in cfg.actions if a in _CAUSAL_ACTIONS and a != "appear")
    causal = bool(rng.random() < cfg.causal_prob) and bool(allowed_causal)
    beats, n_shots = _plan(cfg, rng, causal, k)
    beats = _allocate(cfg, rng, beats)
    duration = beats[-1].end
    b = _Builder(cfg, rng)
    shots: list[Shot] = []
    transitions: list[Transition] = []
    prev_bg: str | None = None
    for s in range(n_shots):
        own = [x for x in beats if x.shot == s and x.kind != "transition"]
        shot = Shot(index=s, start=own[0].start, end=own[-1].end, background=_pick_background(rng, prev_bg))
        prev_bg = shot.background
        shots.append(shot)
        trans = [x for x in beats if x.shot == s and x.kind == "transition"]
        if trans:
            tr = trans[0]
            transitions.append(Transition(kind=tr.transition, start=tr.start, end=tr.end, to_shot=s))
        actions = [x for x in own if x.kind == "action"]
        if causal:
            if s == 0:
                hero = b.add_object(shot, visible=bool(rng.random() < 0.7) or "appear" not in cfg.actions)
            else:
                b.objects[hero].shots.append(s)
                shot.objects.append(hero)
            for _ in range(int(rng.integers(0, cfg.max_objects))):  # still bystanders
                b.add_object(shot, visible=True)
            for beat in actions:
                ev = b.add_event(hero, shot, beat.start, beat.end, allowed_causal, concurrent=False, inferable=True)
                beat.events = [ev.index]
        else:
            need = min(cfg.max_objects, max(sum(x.n_events for x in actions), max(x.n_events for x in actions)))
            n_obj = int(rng.integers(need, cfg.max_objects + 1)) if need < cfg.max_objects else need
            for _ in range(n_obj):
                b.add_object(shot, visible=True)
            _unrelated_events(b, cfg, rng, shot, actions)
        # objects never seen in this shot would be invisible ghosts: a shot ends with what was shown
        for oid in shot.objects:
            if not b.objects[oid].visible and not any(e.object_id == oid for e in b.events):
                raise _Retry
    segments = _segments(beats, b.events, shots)
    return VideoScript(id=video_id(index), index=index, seed=seed, duration=duration, fps=cfg.fps,
                       width=cfg.width, height=cfg.height, causal=causal, objects=b.objects, shots=shots,
                       transitions=transitions, events=sorted(b.events, key=lambda e: e.index),
                       segments=segments, textured=cfg.textured_backgrounds)


def _unrelated_events(b: _Builder, cfg: WorldConfig, rng: np.random.Generator, shot: Shot,
                      actions: list[_Beat]) -> None:
    """Each event by an object that has not acted yet in this shot, where one is left."""
    acted: list[int] = []
    for beat in actions:
        actors: list[int] = []
        for j in range(beat.n_events):
            fresh = [o for o in shot.objects if o not in acted and o not in actors]
            pool = fresh or [o for o in shot.objects if o not in actors]
            oid = int(rng.choice(pool))
            if oid not in acted and "appear" in cfg.actions and rng.random() < 0.2:
                b.objects[oid].visible = False  # its first action will be to appear
            if j == 0:
                start, end = beat.start, beat.end
            else:  # the second object acts over a sub-span (>= 2 grid steps) of the beat
                g = cfg.time_grid
                u0 = int(rng.integers(0, beat.units - 1))
                u1 = int(rng.integers(u0 + 2, beat.units + 1))
                start, end = _sec(round(beat.start / g) + u0, g), _sec(round(beat.start / g) + u1, g)
            ev = b.add_event(oid, shot, start, end, tuple(cfg.actions), concurrent=j > 0, inferable=False)
            actors.append(oid)
            acted.append(oid)
            beat.events.append(ev.index)
        if len(beat.events) == 2:
            for i in beat.events:
                b.events[i].concurrent = True


def _segments(beats: list[_Beat], events: list[WorldEvent], shots: list[Shot]) -> list[Segment]:
    out: list[Segment] = []
    for beat in beats:
        if beat.kind == "transition":
            if beat.transition == "cut":
                continue
            cap = scene_caption(beat.transition, shots[beat.shot].background)
            out.append(Segment(beat.start, beat.end, "transition", cap, [], beat.shot))
        elif beat.kind == "static":
            out.append(Segment(beat.start, beat.end, "static", static_caption(), [], beat.shot))
        else:
            evs = sorted((events[i] for i in beat.events), key=lambda e: (e.start, e.index))
            cap = " while ".join(e.caption for e in evs)
            out.append(Segment(beat.start, beat.end, "action", cap, [e.index for e in evs], beat.shot))
    return out

"""A TempoWorld video as data: objects, shots, transitions, events and the dense segment partition.

``VideoScript`` is the single source of truth: the renderer draws it, the exports describe it, and
``world.json`` stores it (``to_dict`` / ``from_dict``). ``object_state(obj, events, t)`` gives an object's
exact appearance at any time ``t``, which is what both the renderer and the layout checks use.

Conventions: times in seconds; positions in pixels with the origin at the top-left corner and y pointing
down; ``angle`` in degrees, positive = clockwise on screen; ``scale`` multiplies the object's base
``radius``; ``alpha`` is 0 (invisible) .. 1 (fully drawn).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tempoforge.records import Event, Span
from tempoforge.world.vocab import COLORS

__all__ = [
    "ObjectSpec",
    "ObjectState",
    "Segment",
    "Shot",
    "Transition",
    "VideoScript",
    "WorldEvent",
    "ease",
    "object_state",
]


@dataclass
class ObjectSpec:
    """An object as it is at the start of the first shot it is in."""

    id: int
    shape: str
    color: str
    x: float
    y: float
    radius: float
    visible: bool = True
    shots: list[int] = field(default_factory=list)


@dataclass
class ObjectState:
    x: float
    y: float
    scale: float
    angle: float
    rgb: tuple[float, float, float]
    alpha: float
    color: str  # the named colour the object has (its last completed or ongoing recolor's target after it)


@dataclass
class WorldEvent:
    """One object action over ``[start, end]``. ``params`` by action:

    move / stop: ``direction`` (left|right|up|down), ``dx``, ``dy`` (pixels); grow / shrink: ``factor``;
    recolor: ``from_color``, ``to_color``; rotate: ``degrees`` (signed, + = clockwise), ``clockwise``.
    """

    index: int
    object_id: int
    action: str
    start: float
    end: float
    shot: int
    subject: str
    caption: str
    paraphrases: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    concurrent: bool = False
    inferable: bool = False

    @property
    def key(self) -> str:
        """The action with its direction: ``move:left``, ``rotate:cw``, ``recolor:blue``, ``grow`` ..."""
        if self.action in ("move", "stop"):
            return f"{self.action}:{self.params['direction']}"
        if self.action == "rotate":
            return f"rotate:{'cw' if self.params['clockwise'] else 'ccw'}"
        if self.action == "recolor":
            return f"recolor:{self.params['to_color']}"
        return self.action

    def to_record(self, shape: str) -> Event:
        """As a ``records.Event``: span, caption, subject, action; everything else in ``attributes``."""
        attrs = {"index": self.index, "object_id": self.object_id, "shape": shape,
                 "color": self.subject.split(" ")[1], "key": self.key, "shot": self.shot,
                 "params": self.params, "paraphrases": self.paraphrases, "concurrent": self.concurrent,
                 "inferable": self.inferable}
        return Event(span=Span.of(self.start, self.end), caption=self.caption, subject=self.subject,
                     action=self.action, attributes=attrs)

    @classmethod
    def from_record(cls, ev: Event) -> WorldEvent:
        a = ev.attributes
        return cls(index=a["index"], object_id=a["object_id"], action=str(ev.action), start=ev.span.start,
                   end=ev.span.end, shot=a["shot"], subject=str(ev.subject), caption=ev.caption,
                   paraphrases=list(a["paraphrases"]), params=dict(a["params"]), concurrent=a["concurrent"],
                   inferable=a["inferable"])


@dataclass
class Shot:
    """A stretch with one background; ``[start, end)`` excludes the transitions around it."""

    index: int
    start: float
    end: float
    background: str
    objects: list[int] = field(default_factory=list)


@dataclass
class Transition:
    """How shot ``to_shot - 1`` becomes ``to_shot``: a hard ``cut`` (``start == end``), ``dissolve`` or ``fade``."""

    kind: str
    start: float
    end: float
    to_shot: int


@dataclass
class Segment:
    """One piece of the dense partition of ``[0, duration]``: ``action``, ``static`` or ``transition``."""

    start: float
    end: float
    kind: str
    caption: str
    events: list[int] = field(default_factory=list)
    shot: int | None = None


@dataclass
class VideoScript:
    id: str
    index: int
    seed: int
    duration: float
    fps: float
    width: int
    height: int
    causal: bool
    objects: list[ObjectSpec]
    shots: list[Shot]
    transitions: list[Transition]
    events: list[WorldEvent]
    segments: list[Segment]
    textured: bool = False
    mirror_of: str | None = None  # the video this one is the time-reversed twin of (``world/mirror.py``)

    @property
    def num_frames(self) -> int:
        """Frames at ``i / fps`` for ``i < num_frames``: the last one shows ``duration - 1/fps``."""
        return max(1, round(self.duration * self.fps))

    @property
    def static_spans(self) -> list[tuple[float, float]]:
        return [(s.start, s.end) for s in self.segments if s.kind == "static"]

    @property
    def cut_times(self) -> list[float]:
        return [t.start for t in self.transitions if t.kind == "cut"]

    def object(self, object_id: int) -> ObjectSpec:
        return self.objects[object_id]

    def events_of(self, object_id: int) -> list[WorldEvent]:
        return sorted((e for e in self.events if e.object_id == object_id), key=lambda e: e.start)

    def shot_at(self, t: float) -> Shot | None:
        for shot in self.shots:
            if shot.start <= t < shot.end:
                return shot
        return None

    def names_of(self, object_id: int) -> set[str]:
        """Every "colour shape" name the object has in the video (it changes with recolor)."""
        obj = self.objects[object_id]
        names = {f"{obj.color} {obj.shape}"}
        names |= {f"{e.params['to_color']} {obj.shape}" for e in self.events if e.object_id == object_id
                  and e.action == "recolor"}
        return names

    def to_dict(self) -> dict[str, Any]:
        """The ground truth of the video as JSON-ready data (events as ``records.Event`` dicts)."""
        d = dataclasses.asdict(self)
        d["num_frames"] = self.num_frames
        d["events"] = [e.to_record(self.objects[e.object_id].shape).to_json_dict() for e in self.events]
        d["static_spans"] = [list(s) for s in self.static_spans]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoScript:
        return cls(
            id=d["id"], index=d["index"], seed=d["seed"], duration=d["duration"], fps=d["fps"],
            width=d["width"], height=d["height"], causal=d["causal"], textured=d.get("textured", False),
            objects=[ObjectSpec(**o) for o in d["objects"]],
            shots=[Shot(**s) for s in d["shots"]],
            transitions=[Transition(**t) for t in d["transitions"]],
            events=[WorldEvent.from_record(Event.model_validate(e)) for e in d["events"]],
            segments=[Segment(**s) for s in d["segments"]], mirror_of=d.get("mirror_of"),
        )


def ease(action: str, p: float) -> float:
    """Progress curve of an action at linear progress ``p`` in [0, 1]: ``stop`` decelerates to rest
    (ease-out, 1 - (1 - p)^2, speed falls linearly to 0 at the end); every other action is linear."""
    p = min(1.0, max(0.0, p))
    return 1.0 - (1.0 - p) ** 2 if action == "stop" else p


def object_state(obj: ObjectSpec, events: list[WorldEvent], t: float) -> ObjectState:
    """The object's exact appearance at time ``t`` (``events``: its own, sorted, non-overlapping)."""
    x, y, scale, angle = obj.x, obj.y, 1.0, 0.0
    color = obj.color
    rgb = np.asarray(COLORS[color], dtype=np.float64)
    alpha = 1.0 if obj.visible else 0.0
    for ev in events:
        if t <= ev.start:
            break
        p = ease(ev.action, (t - ev.start) / (ev.end - ev.start))
        a, prm = ev.action, ev.params
        if a in ("move", "stop"):
            x += prm["dx"] * p
            y += prm["dy"] * p
        elif a in ("grow", "shrink"):
            scale *= 1.0 + (prm["factor"] - 1.0) * p
        elif a == "rotate":
            angle += prm["degrees"] * p
        elif a == "recolor":
            rgb = (1 - p) * np.asarray(COLORS[prm["from_color"]], float) + p * np.asarray(COLORS[prm["to_color"]], float)
            color = prm["to_color"]
        elif a == "appear":
            alpha = p
        elif a == "disappear":
            alpha = 1.0 - p
    return ObjectState(x=x, y=y, scale=scale, angle=angle, rgb=(float(rgb[0]), float(rgb[1]), float(rgb[2])),
                       alpha=alpha, color=color)

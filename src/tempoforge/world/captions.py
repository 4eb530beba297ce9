"""The caption grammar: ``SUBJECT VERB-PHRASE`` with a few paraphrases per action.

The subject is ``"the <colour> <shape>"`` with the colour the object has when the event starts; a script
keeps every such name unique in its video, so a caption picks out one object. The first template of each
action is the canonical caption (used in the dense export and grounding ground truth); the others are
paraphrases for query diversity. Every direction-sensitive action has an opposite (``OPPOSITE``): in a
time-reversed video the correct caption of an event is its opposite's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPPOSITE", "describe", "scene_caption", "static_caption", "subject_name"]

_MOVE = {
    "left": ["{s} moves to the left", "{s} slides to the left", "{s} travels leftward"],
    "right": ["{s} moves to the right", "{s} slides to the right", "{s} travels rightward"],
    "up": ["{s} moves up", "{s} slides upward", "{s} rises"],
    "down": ["{s} moves down", "{s} slides downward", "{s} sinks"],
}
_STOP = {
    d: [f"{{s}} slides {w} and stops", f"{{s}} moves {w}, slowing to a halt", f"{{s}} glides {w} and comes to rest"]
    for d, w in {"left": "left", "right": "right", "up": "up", "down": "down"}.items()
}
_TEMPLATES: dict[str, list[str]] = {
    "appear": ["{s} appears", "{s} shows up", "{s} comes into view"],
    "disappear": ["{s} disappears", "{s} vanishes", "{s} goes out of sight"],
    "grow": ["{s} grows", "{s} gets bigger", "{s} expands"],
    "shrink": ["{s} shrinks", "{s} gets smaller", "{s} contracts"],
    "recolor": ["{s} turns {c}", "{s} changes colour to {c}", "{s} becomes {c}"],
    "rotate_cw": ["{s} spins clockwise", "{s} rotates clockwise", "{s} turns around clockwise"],
    "rotate_ccw": ["{s} spins counterclockwise", "{s} rotates counterclockwise",
                   "{s} turns around counterclockwise"],
}

# action (with its direction) -> the action seen when the video plays backwards
OPPOSITE: dict[str, str] = {
    "appear": "disappear", "disappear": "appear", "grow": "shrink", "shrink": "grow",
    "left": "right", "right": "left", "up": "down", "down": "up",
    "rotate_cw": "rotate_ccw", "rotate_ccw": "rotate_cw",
}

_STATIC = ["nothing moves", "the scene stays still", "nothing changes for a while"]


def subject_name(color: str, shape: str) -> str:
    return f"the {color} {shape}"


def describe(action: str, subject: str, params: dict[str, Any]) -> list[str]:
    """All captions of an event, canonical first: ``describe("move", "the red circle", {"direction":
    "left"})[0] == "the red circle moves to the left"``."""
    if action == "move":
        templates = _MOVE[params["direction"]]
    elif action == "stop":
        templates = _STOP[params["direction"]]
    elif action == "rotate":
        templates = _TEMPLATES["rotate_cw" if params["clockwise"] else "rotate_ccw"]
    else:
        templates = _TEMPLATES[action]
    return [t.format(s=subject, c=params.get("to_color", "")) for t in templates]


def static_caption() -> str:
    return _STATIC[0]


def scene_caption(kind: str, background: str) -> str:
    """Caption of a transition segment into a shot with ``background``."""
    if kind == "dissolve":
        return f"the scene dissolves into a new scene with a {background} background"
    if kind == "fade":
        return f"the picture fades to black and a new scene with a {background} background fades in"
    raise ValueError(f"no caption for a {kind!r} transition")

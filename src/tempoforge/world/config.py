"""``WorldConfig``: every knob of a TempoWorld, with the ``tiny`` / ``standard`` / ``long`` presets.

Configs are dataclasses (DESIGN.md principle 6); the presets are constants here, and a YAML file or CLI
flags override single fields (``load_config(WorldConfig, yaml, args, overrides=preset)``).

Sizes are multiples of 28 so that Qwen-VL's 14-px patches with 2x2 merging tile a frame exactly:
``tiny`` is 56x56 (a 2x2 grid of merged 28-px tokens), ``standard`` 224x224 (8x8), ``long`` 168x168.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from tempoforge.errors import UserError

__all__ = ["PRESETS", "PresetName", "WorldConfig", "preset_config"]

PresetName = Literal["tiny", "standard", "long"]


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class WorldConfig:
    """How TempoWorld videos are drawn. Times are seconds; sizes pixels.

    Durations, segment lengths and event spans are multiples of ``time_grid`` seconds, so every boundary
    is an exact, printable number (``2.5``), and with ``fps * time_grid`` an integer each boundary falls
    on a frame.
    """

    preset: str = _f("tiny", "name of the preset these values started from (recorded in world.json)")
    width: int = _f(56, "frame width in pixels (even; a multiple of 28 suits Qwen-VL patching)")
    height: int = _f(56, "frame height in pixels (even; a multiple of 28 suits Qwen-VL patching)")
    fps: float = _f(4.0, "frames per second of the encoded videos")
    time_grid: float = _f(0.5, "every boundary (segment, event, shot) is a multiple of this many seconds")
    min_duration: float = _f(8.0, "shortest video, seconds")
    max_duration: float = _f(16.0, "longest video, seconds")
    max_event_length: float = _f(4.0, "longest action, seconds (longer beats are split into action + static)")
    min_events: int = _f(2, "fewest object events (actions) per video")
    max_events: int = _f(4, "most object events (actions) per video")
    min_shots: int = _f(1, "fewest shots in a causal video")
    max_shots: int = _f(1, "most shots in a causal video (its protagonist is kept across the cuts)")
    max_shot_events: int = _f(2, "most events per shot in an unrelated video (each shot has fresh objects)")
    causal_prob: float = _f(0.5, "probability that a video is one causal chain of one protagonist")
    static_prob: float = _f(0.3, "probability of a static stretch after each action")
    concurrent_prob: float = _f(0.0, "probability that a second object acts during an action")
    transition_prob: float = _f(0.0, "probability that a shot change is a dissolve or a fade instead of a cut")
    transition_length: float = _f(1.0, "length of a dissolve / fade, seconds")
    max_objects: int = _f(2, "most objects on screen in one shot")
    object_size: float = _f(0.17, "object radius as a fraction of min(width, height)")
    textured_backgrounds: bool = _f(False, "draw a faint vertical gradient on backgrounds (else plain)")
    actions: tuple[str, ...] = _f(
        ("appear", "disappear", "move", "grow", "shrink", "recolor", "rotate", "stop"),
        "actions the script may use",
    )
    paraphrase_prob: float = _f(0.0, "probability that a grounding query uses a paraphrase, not the canonical caption")
    partial_queries: int = _f(2, "partially irrelevant queries per video (one attribute of a real event changed)")
    irrelevant_queries: int = _f(1, "irrelevant queries per video (object absent from the video)")
    mcq_per_video: int = _f(4, "multiple-choice temporal questions per video (order, before/after, count, direction)")
    crf: int = _f(0, "x264 constant rate factor; 0 is lossless: the decoded pixels are the rendered frames "
                     "(in yuv420p) on every run, which a lossy crf does not promise (world/render.py)")
    gop: int = _f(12, "keyframe interval of the encoded videos, frames")
    mirror_pairs: bool = _f(False, "every odd-numbered video is the time-reversed twin of the one before it "
                                   "(world/mirror.py); needs actions that can be played backwards (no stop)")
    workers: int = _f(2, "processes rendering videos in parallel")

    def __post_init__(self) -> None:
        problems = []
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            problems.append(f"size {self.width}x{self.height}: width and height must be even and >= 16")
        if not self.fps > 0:
            problems.append(f"fps must be > 0, got {self.fps}")
        if not self.time_grid > 0:
            problems.append(f"time_grid must be > 0, got {self.time_grid}")
        if not 0 < self.min_duration <= self.max_duration:
            problems.append(f"need 0 < min_duration <= max_duration, got {self.min_duration}, {self.max_duration}")
        if not 1 <= self.min_events <= self.max_events:
            problems.append(f"need 1 <= min_events <= max_events, got {self.min_events}, {self.max_events}")
        if not 1 <= self.min_shots <= self.max_shots or self.max_objects < 1 or self.max_shot_events < 1:
            problems.append("need 1 <= min_shots <= max_shots, max_objects >= 1 and max_shot_events >= 1")
        for name in ("causal_prob", "static_prob", "concurrent_prob", "transition_prob", "paraphrase_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.05 <= self.object_size <= 0.3:
            problems.append(f"object_size must be in [0.05, 0.3], got {self.object_size}")
        unknown = sorted(set(self.actions) - set(ACTIONS))
        if unknown or not self.actions:
            problems.append(f"actions: unknown {unknown} (known: {list(ACTIONS)})")
        # the shortest segment is 2 grid steps; each event needs one, plus room for transitions
        if self.min_duration < 2 * self.time_grid * self.max_events:
            problems.append(
                f"min_duration {self.min_duration} s is too short for {self.max_events} events "
                f"(each needs >= {2 * self.time_grid} s)"
            )
        if self.mirror_pairs and "stop" in self.actions:
            problems.append("mirror_pairs: 'stop' cannot be played backwards (its ease-out becomes an ease-in); "
                            "remove it from actions")
        if self.max_event_length < 2 * self.time_grid:
            problems.append(f"max_event_length must be >= 2 * time_grid ({2 * self.time_grid})")
        if problems:
            raise UserError("WorldConfig: " + "; ".join(problems))

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes a rendered video (not ``workers``): compared when resuming a run."""
        d = dataclasses.asdict(self)
        d.pop("workers")
        d["actions"] = list(d["actions"])
        return d


ACTIONS: tuple[str, ...] = ("appear", "disappear", "move", "grow", "shrink", "recolor", "rotate", "stop")

PRESETS: dict[str, dict[str, Any]] = {
    # learnable by a tiny model on CPU: one plain background per shot, 1-2 big saturated objects
    "tiny": {},
    # rich: several shots, hard cuts, dissolves and fades, concurrent actions, up to 3 objects
    "standard": {
        "width": 224, "height": 224, "fps": 4.0, "min_duration": 30.0, "max_duration": 90.0,
        "max_event_length": 8.0, "min_events": 4, "max_events": 12, "min_shots": 2, "max_shots": 4, "max_shot_events": 3, "static_prob": 0.3, "concurrent_prob": 0.3,
        "transition_prob": 0.4, "max_objects": 3, "object_size": 0.11, "textured_backgrounds": True,
        "paraphrase_prob": 0.5, "partial_queries": 3, "irrelevant_queries": 2, "mcq_per_video": 6,
    },
    # long-video stress test: 5-10 minutes at 2 fps
    "long": {
        "width": 168, "height": 168, "fps": 2.0, "time_grid": 1.0, "min_duration": 300.0,
        "max_duration": 600.0, "max_event_length": 12.0, "min_events": 30, "max_events": 80, "min_shots": 4, "max_shots": 12,
        "max_shot_events": 4, "static_prob": 0.4,
        "concurrent_prob": 0.3, "transition_prob": 0.4, "max_objects": 3, "object_size": 0.11,
        "textured_backgrounds": True, "paraphrase_prob": 0.5, "partial_queries": 4, "irrelevant_queries": 4, "mcq_per_video": 8,
    },
}


def preset_config(name: str = "tiny", **overrides: Any) -> WorldConfig:
    """The preset ``name`` with single fields overridden, e.g. ``preset_config("tiny", fps=2.0)``."""
    if name not in PRESETS:
        raise UserError(f"unknown TempoWorld preset {name!r}; choose one of {sorted(PRESETS)}")
    values = {**PRESETS[name], "preset": name, **overrides}
    if "actions" in values:
        values["actions"] = tuple(values["actions"])
    return WorldConfig(**values)

"""Typed records shared by every stage: curation, synthesis, training, prediction and scoring.

Every record validates itself on construction (pydantic v2): non-finite numbers, ``start > end`` and spans
outside a known duration are rejected with a message that names the field, e.g.
``spans.0.end: end (12.0) is past the video duration (10.0)``. Records serialise to one JSON object per
line (see ``tempoforge.io.jsonl``), with unknown fields rejected so that a typo in an annotation file is an
error, not a silently ignored key.

Times are seconds (DESIGN.md principle 3). Model outputs are *not* validated as spans: a model may answer
a reversed or negative window, and the official scorers treat those in specific ways, so
``Prediction.windows`` keeps raw numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tempoforge.timestamps import check_strategy

__all__ = [
    "DenseCaptionSample",
    "Event",
    "Frames",
    "GroundingSample",
    "Prediction",
    "PreferencePair",
    "Record",
    "Span",
    "VideoInfo",
    "check_spans_within",
]


class Record(BaseModel):
    """Base of all JSON records: strict about unknown fields, finite numbers only."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    def to_json_dict(self) -> dict[str, Any]:
        """A plain dict ready for ``json.dumps`` (no ``None`` optional fields)."""
        return self.model_dump(mode="json", exclude_none=True)


class Span(Record):
    """A time window ``[start, end]`` in seconds, ``0 <= start <= end``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    start: float = Field(ge=0.0, description="start time in seconds")
    end: float = Field(ge=0.0, description="end time in seconds")

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) is after end ({self.end})")
        return self

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        """Accept ``[s, e]`` / ``(s, e)`` as well as ``{"start": s, "end": e}``."""
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError(f"a span needs exactly 2 numbers [start, end], got {list(value)!r}")
            return {"start": value[0], "end": value[1]}
        return value

    @classmethod
    def of(cls, start: float, end: float) -> Span:
        """``Span.of(1.0, 2.5)``: positional constructor."""
        return cls(start=start, end=end)

    @property
    def length(self) -> float:
        return self.end - self.start

    def as_pair(self) -> tuple[float, float]:
        return (self.start, self.end)

    def contains(self, t: float) -> bool:
        return self.start <= t <= self.end

    def check_within(self, duration: float, field_name: str = "span", tolerance: float = 1e-3) -> None:
        """Raise ``ValueError`` naming ``field_name`` if the span ends past ``duration`` (+ tolerance)."""
        if self.end > duration + tolerance:
            raise ValueError(f"{field_name}: end ({self.end}) is past the video duration ({duration})")


def check_spans_within(spans: list[Span], duration: float | None, field_name: str) -> None:
    """Validate every span in ``spans`` against ``duration`` (no-op when the duration is unknown)."""
    if duration is None:
        return
    for i, span in enumerate(spans):
        span.check_within(duration, f"{field_name}.{i}")


class Event(Record):
    """Something that happens in a video over ``span``, with a caption and optional structure."""

    span: Span
    caption: str
    subject: str | None = None
    action: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class VideoInfo(Record):
    """What ``tempoforge.io.probe`` learns about a video stream without decoding all of it."""

    path: str
    duration: float = Field(ge=0.0, description="seconds, from the first frame's pts to the end of the last")
    fps: float = Field(gt=0.0, description="average frame rate")
    variable_fps: bool = False
    num_frames: int = Field(ge=0, description="frame count (from the container, or estimated)")
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    rotation: int = Field(default=0, description="display rotation in degrees (0, 90, 180, 270)")
    codec: str = ""
    has_audio: bool = False
    stream_index: int = Field(default=0, ge=0, description="index of the video stream in the container")
    start_time: float = Field(default=0.0, description="pts of the first frame in seconds (often 0)")
    num_frames_exact: bool = Field(default=False, description="True when num_frames was counted, not estimated")
    truncated: bool = Field(default=False, description="the file ends before its header says: duration and "
                            "num_frames describe only the decodable part")
    declared_duration: float | None = Field(default=None, description="what the header claims, when truncated")

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after applying the rotation."""
        if self.rotation % 180 == 90:
            return (self.height, self.width)
        return (self.width, self.height)


@dataclass
class Frames:
    """Decoded frames and the presentation time of each, always paired.

    ``data`` is ``uint8`` of shape ``(N, H, W, 3)`` (RGB); ``times[i]`` is the time in seconds of
    ``data[i]`` relative to the stream's first frame. ``requested[i]`` is the time that was asked for.
    """

    data: np.ndarray
    times: np.ndarray
    info: VideoInfo | None = None
    requested: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64)
        if self.data.ndim != 4 or self.data.shape[-1] != 3:
            raise ValueError(f"Frames.data must have shape (N, H, W, 3), got {self.data.shape}")
        if self.data.dtype != np.uint8:
            raise ValueError(f"Frames.data must be uint8, got {self.data.dtype}")
        if len(self.times) != len(self.data):
            raise ValueError(f"Frames.times has {len(self.times)} entries for {len(self.data)} frames")
        if not np.all(np.isfinite(self.times)):
            raise ValueError("Frames.times contains a non-finite value")
        if len(self.times) > 1 and np.any(np.diff(self.times) < 0):
            raise ValueError("Frames.times must be non-decreasing")

    def __len__(self) -> int:
        return len(self.data)

    def select(self, indices: list[int] | np.ndarray) -> Frames:
        """A subset of the frames, keeping each frame with its time."""
        idx = np.asarray(indices, dtype=np.int64)
        req = self.requested[idx] if self.requested is not None else None
        return Frames(self.data[idx], self.times[idx], self.info, req, list(self.warnings))


class GroundingSample(Record):
    """A query to localise in a video (Charades-STA, QVHighlights, TempoWorld, ...).

    ``spans`` is every ground-truth window (one for Charades-STA, one or more for QVHighlights); empty and
    ``relevant=False`` for an irrelevant query whose correct answer is a refusal.
    """

    id: str
    video: str
    query: str
    duration: float | None = Field(default=None, gt=0.0)
    spans: list[Span] = Field(default_factory=list)
    relevant: bool = True
    source: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> GroundingSample:
        if self.relevant and not self.spans:
            raise ValueError("spans: a relevant query needs at least one ground-truth span")
        check_spans_within(self.spans, self.duration, "spans")
        return self


class DenseCaptionSample(Record):
    """A video with its chronological events (ActivityNet Captions / YouCook2 / TempoWorld)."""

    id: str
    video: str
    duration: float = Field(gt=0.0)
    events: list[Event]
    source: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> DenseCaptionSample:
        check_spans_within([e.span for e in self.events], self.duration, "events")
        return self


class PreferencePair(Record):
    """A chosen/rejected response pair for the same prompt (TEMPLE, D2VLM FPO).

    ``video`` conditions both responses unless ``rejected_video`` is set (TEMPLE's "different videos"
    mode: chosen on the clean input, rejected on the perturbed one). ``kind``/``r``/``seed`` record the
    perturbation that produced the rejected side (METHODS.md 1.3), ``factor`` the D2VLM factor (3.4).
    """

    id: str
    video: str
    prompt: str
    chosen: str
    rejected: str
    rejected_video: str | None = None
    kind: str | None = None
    r: int | None = Field(default=None, ge=1)
    seed: int | None = None
    factor: str | None = None
    chosen_spans: list[Span] = Field(default_factory=list)
    rejected_spans: list[Span] = Field(default_factory=list)
    frame_times: list[float] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Prediction(Record):
    """One model answer, self-contained so that ``tempoforge eval score`` can re-score it offline.

    ``answer`` is the raw generated text; ``windows`` the spans parsed from it by our own parser (raw
    numbers, possibly reversed: the official conventions treat those differently); ``gt`` the ground
    truth as ``[s, e]`` or a list of them. ``timestamps`` records the strategy the model saw time with (a
    name registered in ``tempoforge.timestamps``).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=True, validate_assignment=True)

    id: str
    benchmark: str = "grounding"
    answer: str = ""
    duration: float | None = None
    gt: list[list[float]] | list[float] | None = None
    pred: list[float] | None = None
    windows: list[list[float]] | None = None
    query: str | None = None
    video: str | None = None
    model: str | None = None
    timestamps: str | None = None
    frame_times: list[float] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("duration")
    @classmethod
    def _finite_duration(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(f"duration must be a positive finite number, got {value}")
        return value

    @field_validator("timestamps")
    @classmethod
    def _known_strategy(cls, value: str | None) -> str | None:
        return None if value is None else check_strategy(value)

    @field_validator("gt")
    @classmethod
    def _finite_gt(cls, value: Any) -> Any:
        if value is None:
            return value
        flat = value if value and not isinstance(value[0], list) else [x for w in value for x in w]
        if any(not math.isfinite(float(x)) for x in flat):
            raise ValueError("gt contains a non-finite number")
        return value

    def gt_windows(self) -> list[list[float]]:
        """Ground truth as a list of ``[s, e]`` windows, whatever form it was given in."""
        if self.gt is None:
            return []
        if self.gt and not isinstance(self.gt[0], list):
            return [[float(x) for x in self.gt if not isinstance(x, list)]]
        return [[float(v) for v in w] for w in self.gt if isinstance(w, list)]

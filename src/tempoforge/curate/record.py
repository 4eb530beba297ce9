"""The record that flows through curation (DESIGN.md principle 2).

One ``CurationRecord`` per input video. Every step maps a record to a record, or drops it with a reason
(``Drop``); dropped records are written to ``rejected.jsonl`` with the step and the reason, never lost.
Times are seconds relative to the stream's first frame (``tempoforge.io`` convention).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tempoforge.records import Event, Record, Span, VideoInfo

__all__ = ["CurationRecord", "Keyframe", "Run", "SelectedFrame", "Shot"]


class Shot(Record):
    """A shot ``[start, end)``: ``start`` is the time of its first frame, ``end`` that of the next shot's."""

    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    num_frames: int = Field(ge=0, description="frames of the low-res analysis pass inside the shot")
    group: int | None = Field(default=None, description="visual identity after grouping (METHODS 1.1.4)")

    @property
    def length(self) -> float:
        return self.end - self.start

    def span(self) -> Span:
        return Span.of(self.start, self.end)


class Run(Record):
    """A maximal run of consecutive shots of the same group (METHODS.md 1.1.4)."""

    group: int
    shots: list[int] = Field(description="indices into CurationRecord.shots")
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)


class Keyframe(Record):
    """A keyframe chosen by cos-weighted sharpness (METHODS.md 1.1.6), with its true time."""

    run: int = Field(ge=0)
    slot: int = Field(ge=0, description="0 or 1: which of the two centres of the run")
    time: float = Field(ge=0.0, description="presentation time of the frame written to ``image``")
    score: float = Field(description="sharpness * cos(pi * d / interval) on the analysis frames")
    image: str | None = Field(default=None, description="path of the image, relative to the output folder")


class SelectedFrame(Record):
    """A frame chosen by adaptive selection (Tempo-R0 SAA), with its true presentation time."""

    index: int = Field(ge=0, description="index in the analysis pass")
    time: float = Field(ge=0.0)


class CurationRecord(Record):
    """One video on its way through the curation steps."""

    id: str
    path: str
    info: VideoInfo | None = None
    mean_change: float | None = Field(default=None, description="mean HSV change per frame (0-255 scale)")
    shots: list[Shot] = Field(default_factory=list)
    detector: str | None = Field(default=None, description="shot detector that produced ``shots``")
    cuts: dict[str, list[float]] = Field(default_factory=dict, description="cut times per detector run")
    runs: list[Run] = Field(default_factory=list)
    keyframes: list[Keyframe] = Field(default_factory=list)
    frames: list[SelectedFrame] = Field(default_factory=list, description="SAA frame selection")
    grids: list[str] = Field(default_factory=list, description="frame-grid images (relative paths)")
    events: list[Event] = Field(default_factory=list)
    status: Literal["pending", "kept", "rejected"] = "pending"
    step: str | None = Field(default=None, description="the step that rejected the video")
    code: str | None = Field(default=None, description="short reason code, counted in stats.json")
    reason: str | None = Field(default=None, description="why it was rejected, with the measured value")
    warnings: list[str] = Field(default_factory=list, description="what to check about a kept video (e.g. "
                                "truncated: only the decodable part was curated)")

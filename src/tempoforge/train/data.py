"""Training data plumbing shared by every trainer: how videos become frames, and frames model inputs.

Frames are decoded once per (video, sampling settings) and kept in an in-process LRU cache, so epochs and
the several responses of one prompt never decode a video twice. ``VideoSettings`` is the single place a
run says how it samples time (fps, frame cap, pixels) and which timestamp strategy the model sees; it is
recorded in every checkpoint's ``tempoforge_train.json``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tempoforge.io import sample
from tempoforge.models.inputs import Example, build_example, collate
from tempoforge.records import Frames

__all__ = ["ExampleCollator", "ExampleDataset", "SFTItem", "VideoSettings", "load_frames", "resolve_video"]


@dataclass
class VideoSettings:
    """How a run turns a video into model inputs."""

    fps: float = field(default=1.0, metadata={"help": "frames per second sampled from each video"})
    max_frames: int = field(default=16, metadata={"help": "frame cap, spread over the whole video"})
    max_pixels: int | None = field(default=None, metadata={"help": "resize frames to at most this many pixels"})
    strategy: str = field(default="mrope", metadata={"help": "timestamp strategy: mrope | text | overlay | "
                                                              "frames-as-images"})
    selection: str = field(default="uniform", metadata={"help": "frame selection: uniform (fps, capped) | saa "
                                                                "(Tempo-R0: the same budget spent where the "
                                                                "content changes, true times kept)"})
    saa_floor: float = field(default=0.25, metadata={"help": "SAA: share of the mean change added to every "
                                                             "frame so static stretches keep frames"})

    def __post_init__(self) -> None:
        if self.selection not in ("uniform", "saa"):
            raise ValueError(f"unknown frame selection {self.selection!r}; choose uniform or saa")


@functools.lru_cache(maxsize=512)
def _frames_cached(path: str, fps: float, max_frames: int, max_pixels: int | None) -> Frames:
    return sample(path, fps=fps, max_frames=max_frames, max_pixels=max_pixels)


@functools.lru_cache(maxsize=512)
def _saa_cached(path: str, fps: float, max_frames: int, max_pixels: int | None, floor: float) -> Frames:
    from tempoforge.models.saa import saa_frames

    return saa_frames(path, fps=fps, max_frames=max_frames, floor=floor, max_pixels=max_pixels)


def load_frames(video: str | Path, settings: VideoSettings) -> Frames:
    """Frames of ``video`` under ``settings`` (decoded once per process, then served from the cache)."""
    if settings.selection == "saa":
        return _saa_cached(str(video), settings.fps, settings.max_frames, settings.max_pixels, settings.saa_floor)
    return _frames_cached(str(video), settings.fps, settings.max_frames, settings.max_pixels)


def resolve_video(video: str, base: Path | None) -> str:
    """A record's ``video`` path, relative to the data file's folder unless absolute."""
    p = Path(video)
    if p.is_absolute() or base is None:
        return str(p)
    return str(base / p)


@dataclass(frozen=True)
class SFTItem:
    """One supervised example: a prompt about a video and the target answer."""

    id: str
    video: str  # "" for a text-only item
    prompt: str
    answer: str
    masked: tuple[tuple[float, float], ...] = ()  # spans whose frames are black, no timestamp (TEMPURA)


class ExampleDataset(torch.utils.data.Dataset[Example]):
    """``SFTItem``s tokenised lazily with ``build_example`` (labels on the answer only)."""

    def __init__(self, lm: Any, items: list[SFTItem], settings: VideoSettings) -> None:
        self.lm, self.items, self.settings = lm, items, settings

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Example:
        it = self.items[i]
        if not it.video:  # text-only item (text instruction data mixed in; see train/distributed.py)
            from tempoforge.train.distributed import text_example

            return text_example(self.lm, it.prompt, it.answer)
        frames = load_frames(it.video, self.settings)
        return build_example(self.lm, it.prompt, frames, self.settings.strategy, answer=it.answer,
                             masked_spans=it.masked or None)


class ExampleCollator:
    """Right-padded training batches from ``Example``s (what ``transformers.Trainer`` calls per step)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[Example]) -> dict[str, torch.Tensor]:
        return collate(examples, pad_token_id=self.pad_token_id, padding_side="right")

"""Training data plumbing shared by every trainer: how videos become frames, and frames model inputs.

Frames are decoded once per (video version, sampling settings) and kept in an in-process LRU cache bounded
in *bytes* (``FrameCache``; ``TEMPOFORGE_FRAME_CACHE_MB``, default 2048 per process), so epochs and the
several responses of one prompt never decode a video twice, and a long run cannot grow without bound. ``VideoSettings`` is the single place a
run says how it samples time (fps, frame cap, pixels) and which timestamp strategy the model sees (``timestamps``,
a name from ``tempoforge.timestamps``; presets written before may still say ``strategy``); it is
recorded in every checkpoint's ``tempoforge_train.json``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tempoforge.io import sample
from tempoforge.models.inputs import Example, build_example, collate
from tempoforge.models.video import VideoSettings
from tempoforge.records import Frames

__all__ = ["ExampleCollator", "ExampleDataset", "FrameCache", "SFTItem", "VideoSettings", "load_frames", "resolve_video"]


class FrameCache:
    """A thread-safe LRU cache of decoded ``Frames`` bounded by the bytes of their pixels.

    Entries are evicted least-recently-used first once ``max_bytes`` is exceeded; an entry larger than the
    whole budget is returned but not kept. Cached frames are made read-only, so a caller that would modify
    them in place fails loudly instead of corrupting later epochs (copy first, as ``mask_frames`` does).
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, Frames] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, load: Callable[[], Frames]) -> Frames:
        """The frames stored under ``key``, loading (outside the lock) and storing them on a miss."""
        with self._lock:
            frames = self._entries.get(key)
            if frames is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return frames
            self.misses += 1
        frames = load()
        frames.data.setflags(write=False)
        size = int(frames.data.nbytes)
        with self._lock:
            if key in self._entries or size > self.max_bytes:
                return self._entries.get(key, frames)
            self._entries[key] = frames
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self.bytes -= int(old.data.nbytes)
        return frames

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


FRAME_CACHE = FrameCache(int(os.environ.get("TEMPOFORGE_FRAME_CACHE_MB", "2048")) * 2**20)


def load_frames(video: str | Path, settings: VideoSettings) -> Frames:
    """Frames of ``video`` under ``settings`` (decoded once per process and file version, then cached).

    With ``settings.blank`` the same frames (count, times, size) come back mid-grey: the blank-frames
    control of every efficacy study.
    """
    if settings.blank:
        from dataclasses import replace

        import numpy as np

        frames = load_frames(video, replace(settings, blank=False))
        return Frames(np.full(frames.data.shape, 128, np.uint8), frames.times.copy(), info=frames.info)
    path = str(video)
    try:
        st = os.stat(path)
        version: tuple[int, int] = (st.st_mtime_ns, st.st_size)
    except OSError:
        version = (0, 0)  # let the decoder report the missing file
    if settings.selection == "saa":
        from tempoforge.models.saa import saa_frames

        key: Hashable = ("saa", path, version, settings.fps, settings.max_frames, settings.max_pixels, settings.saa_floor)
        return FRAME_CACHE.get(key, lambda: saa_frames(path, fps=settings.fps, max_frames=settings.max_frames,
                                                       floor=settings.saa_floor, max_pixels=settings.max_pixels))
    key = ("uniform", path, version, settings.fps, settings.max_frames, settings.max_pixels)
    return FRAME_CACHE.get(key, lambda: sample(path, fps=settings.fps, max_frames=settings.max_frames,
                                               max_pixels=settings.max_pixels))


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
        return build_example(self.lm, it.prompt, frames, self.settings.timestamps, answer=it.answer,
                             max_pixels=self.settings.max_pixels,
                             masked_spans=it.masked or None)


class ExampleCollator:
    """Right-padded training batches from ``Example``s (what ``transformers.Trainer`` calls per step)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[Example]) -> dict[str, torch.Tensor]:
        return collate(examples, pad_token_id=self.pad_token_id, padding_side="right")

"""A video as a model sees it: the one path from a video file to the frames every model input is built from.

``VideoSettings`` is the single place a run says how it samples time (fps, frame cap, pixels, uniform or
SAA frame selection) and which timestamp strategy the model sees; training records it in every
checkpoint's ``tempoforge_train.json`` and ``predict`` builds the same settings from its flags
(``PredictConfig.video_settings``), so training and prediction decode a video the same way.

Frames are decoded once per (video version, sampling settings) and kept in an in-process LRU cache bounded
in *bytes* (``FrameCache``; ``TEMPOFORGE_FRAME_CACHE_MB``, default 2048 per process), so epochs, the
several responses of one prompt and the several queries of one video never decode a video twice, and a
long run cannot grow without bound.

Kept free of heavy imports (the decoder is imported when frames are loaded): the CLI's option dataclasses
read ``MAX_FRAMES`` and ``SELECTIONS`` from here.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tempoforge.config import renamed_fields
from tempoforge.errors import UserError
from tempoforge.timestamps import STRATEGIES, strategy_help

if TYPE_CHECKING:
    from tempoforge.records import Frames

__all__ = ["FRAME_CACHE", "MAX_FRAMES", "SELECTIONS", "FrameCache", "VideoSettings", "load_frames", "resolve_video"]

MAX_FRAMES = 64  # the default frame cap of training and prediction alike
SELECTIONS: tuple[str, ...] = ("uniform", "saa")  # how the frame budget is spent (see ``load_frames``)
SELECTION_HELP = ("frame selection: uniform (fps, capped) | saa (Tempo-R0: the same budget spent where the content "
                  "changes, true times kept)")


@renamed_fields(strategy="timestamps")
@dataclass
class VideoSettings:
    """How a run turns a video into model inputs."""

    fps: float = field(default=1.0, metadata={"gt": 0, "help": "frames per second sampled from each video"})
    max_frames: int = field(default=MAX_FRAMES, metadata={"min": 1,
        "help": "frame cap; a longer video is sampled more sparsely over its whole length (never truncated)"})
    max_pixels: int | None = field(default=None, metadata={"min": 1,
        "help": "per-frame pixel cap: frames are decoded and tensorized at most this large, so the checkpoint's "
                "video_min_pixels cannot enlarge them (default: the checkpoint's)"})
    timestamps: str = field(default="mrope", metadata={"choices": STRATEGIES, "help": strategy_help()})
    selection: str = field(default="uniform", metadata={"choices": SELECTIONS, "help": SELECTION_HELP})
    saa_floor: float = field(default=0.25, metadata={"min": 0, "help": "SAA: share of the mean change added to "
                                                                       "every frame so static stretches keep frames"})
    blank: bool = field(default=False, metadata={"help": "control: every frame mid-grey (times kept), so a score "
                                                         "shows what the model answers without seeing the video"})

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise UserError(f"unknown --selection {self.selection!r} (frame selection); choose {' or '.join(SELECTIONS)}")


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

    ``uniform``: ``settings.fps`` over the whole video, at most ``max_frames`` spread over its whole length;
    ``saa``: the same budget allocated by content change (``models.saa``). Every frame keeps its true time.
    With ``settings.blank`` the same frames (count, times, size, warnings) come back mid-grey: the
    blank-frames control of every efficacy study.
    """
    if settings.blank:
        import numpy as np

        from tempoforge.records import Frames

        frames = load_frames(video, replace(settings, blank=False))
        return Frames(np.full(frames.data.shape, 128, np.uint8), frames.times.copy(), info=frames.info,
                      warnings=list(frames.warnings))
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
    from tempoforge.io import sample

    key = ("uniform", path, version, settings.fps, settings.max_frames, settings.max_pixels)
    return FRAME_CACHE.get(key, lambda: sample(path, fps=settings.fps, max_frames=settings.max_frames,
                                               max_pixels=settings.max_pixels))


def resolve_video(video: str | Path, base: Path | None) -> str:
    """A record's ``video`` path, relative to the data file's folder ``base`` unless absolute."""
    p = Path(video)
    if p.is_absolute() or base is None:
        return str(p)
    return str(base / p)

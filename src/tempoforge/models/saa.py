"""Self-adaptive attention allocation (Tempo-R0 SAA, METHODS.md 4): a fixed frame budget spent where the
content changes, each chosen frame with its *true* presentation time.

Pipeline (no public code exists; every choice is ours and stated here):

1. one dense low-resolution decode of every frame (the pixels of an ``analysis_width``-wide 16:9 frame,
   aspect kept) reduced to the curation signal table (:func:`tempoforge.curate.signals.video_signals`, the
   same parallel pass curation uses): ``change[i]`` = PySceneDetect's ``content_val``,
   the mean absolute HSV difference of frame ``i`` to frame ``i - 1`` (``change[0] = 0``);
2. :func:`tempoforge.curate.keyframes.adaptive_frames` (the curation step ``saa`` uses the same function):
   weights ``change_i + floor * mean(change)`` — the ``floor`` keeps a share of frames in static stretches
   — and frame ``k`` of ``budget`` is where the normalised cumulative weight reaches ``(k + 0.5) / budget``
   (inverse-CDF sampling), made distinct and increasing;
3. the chosen frames decoded at the model's resolution with ``tempoforge.io.sample(times=...)`` (their
   exact times come back in ``Frames.times``; the timestamp strategies use them, never a nominal fps).

The budget is the uniform sampler's frame count for the same settings — ``min(max_frames,
max(1, floor(duration * fps)))`` — so SAA and uniform sampling are compared at equal cost. Deviation,
stated: the paper allocates *attention* (tokens) by content variation; here the allocation is by frames,
at a fixed number of tokens per frame, which keeps every model family's vision input unchanged.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from tempoforge.records import Frames

__all__ = ["saa_budget", "saa_frames", "saa_times", "select_adaptive"]


def saa_budget(duration: float, fps: float, max_frames: int) -> int:
    """Frames a uniform sampler spends on ``duration`` seconds at ``fps`` under a ``max_frames`` cap."""
    return max(1, min(int(max_frames), math.floor(duration * fps + 1e-9)))


def select_adaptive(times: np.ndarray, change: np.ndarray, budget: int, floor: float = 0.25) -> np.ndarray:
    """Times of the ``budget`` frames SAA picks from a dense table (``times[i]`` is the frame whose change to
    its predecessor is ``change[i]``); thin wrapper over the curation step's ``adaptive_frames``."""
    from tempoforge.curate.keyframes import adaptive_frames

    if len(times) != len(change):
        raise ValueError(f"{len(times)} times for {len(change)} change values")
    idx = adaptive_frames(np.asarray(change, dtype=np.float64), budget, floor)
    return np.asarray(times, dtype=np.float64)[idx]


@functools.lru_cache(maxsize=512)
def _dense_table(path: str, analysis_width: int) -> tuple[np.ndarray, np.ndarray]:
    from tempoforge.curate.signals import analysis_size, video_signals
    from tempoforge.io import probe

    info = probe(path)
    table = video_signals(path, info.fps, analysis_size(*info.display_size, analysis_width))
    return table.times, table.change.astype(np.float64)


def saa_times(path: str | Path, budget: int, floor: float = 0.25, analysis_width: int = 64) -> np.ndarray:
    """The true times of the frames SAA selects in ``path`` (the dense decode is cached per process)."""
    times, change = _dense_table(str(path), int(analysis_width))
    return select_adaptive(times, change, budget, floor)


def saa_frames(path: str | Path, *, fps: float, max_frames: int, floor: float = 0.25,
               max_pixels: int | None = None, analysis_width: int = 64) -> Frames:
    """SAA frames of ``path`` at the uniform sampler's budget for ``fps`` / ``max_frames`` (see module doc)."""
    from tempoforge.io import probe, sample

    info = probe(path)
    budget = saa_budget(info.duration, fps, max_frames)
    times = saa_times(path, budget, floor, analysis_width)
    frames = sample(path, times=times.tolist(), max_pixels=max_pixels, dedupe=False)
    return frames

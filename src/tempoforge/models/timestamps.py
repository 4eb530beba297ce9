"""How a model is told *when* each frame was taken: the four timestamp strategies.

Every strategy uses the **actual** times of the sampled frames (``Frames.times``), never a nominal fps
(DESIGN.md principle 3). The strategy is recorded with every prediction and checkpoint.

``mrope``
    The model's own time encoding. Qwen2.5-VL: the video as one vision block with time-aware M-RoPE
    temporal ids ``floor(t * tokens_per_second)`` (``positions.py``); Qwen2-VL: one block, temporal id =
    patch index (the family has no notion of seconds; time is only order); Qwen3-VL: its native form,
    a ``<t seconds>`` marker before every temporal patch (identical to ``text`` for that family).
``text``
    Explicit timestamps (Qwen3-VL's native form, Tempo-R0's ETA, METHODS.md 4): the video is split into
    its temporal patches (``temporal_patch_size`` frames each), every patch is its own vision block
    preceded by ``<12.5 seconds>``, the mean time of the frames in the patch (Qwen3-VL's convention).
``overlay``
    TEMPURA (METHODS.md 2.2): the frame's time ``f"{t:.1f}"`` burned into its top-left corner, white bold
    text on a black box padded 5 px, font height = image height / 10, drawn *before* resizing; each frame
    fed as its own image (TEMPURA's input, which gives every frame its own temporal position and avoids
    the 2-frame temporal merge).
``frames-as-images``
    Each frame as its own image, no other time signal than order (the ablation baseline for ``overlay``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast, get_args

import numpy as np

from tempoforge.errors import UserError
from tempoforge.io.overlay import draw_timestamp
from tempoforge.records import Frames

__all__ = [
    "STRATEGIES",
    "TimestampStrategy",
    "burn_timestamps",
    "check_strategy",
    "group_marker_times",
    "time_marker",
]

TimestampStrategy = Literal["mrope", "text", "overlay", "frames-as-images"]
STRATEGIES: tuple[str, ...] = get_args(TimestampStrategy)

OVERLAY_PAD = 5  # px around the text (METHODS.md 2.2)


def check_strategy(name: str) -> TimestampStrategy:
    """Validate a strategy name (a :class:`UserError` listing the valid ones)."""
    if name not in STRATEGIES:
        raise UserError(f"unknown timestamp strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return cast(TimestampStrategy, name)


def time_marker(seconds: float) -> str:
    """``12.5 -> "<12.5 seconds>"``: Qwen3-VL's per-patch timestamp text (one decimal)."""
    return f"<{seconds:.1f} seconds>"


def group_marker_times(times: Sequence[float] | np.ndarray, temporal_patch_size: int) -> list[float]:
    """Mean time of the frames in each temporal patch (Qwen3-VL's ``_calculate_timestamps``).

    A last incomplete patch is padded with its last frame, as the tensorizer pads the frames.
    """
    t = [float(x) for x in np.asarray(times, dtype=np.float64)]
    out = []
    for g in range(0, len(t), temporal_patch_size):
        chunk = t[g:g + temporal_patch_size]
        chunk = chunk + [chunk[-1]] * (temporal_patch_size - len(chunk))
        out.append((chunk[0] + chunk[-1]) / 2)
    return out


def burn_timestamps(frames: Frames, skip: Sequence[bool] | np.ndarray | None = None) -> Frames:
    """A copy of ``frames`` with each frame's own time ``f"{t:.1f}"`` burned in (TEMPURA overlay).

    Frames where ``skip`` is true are left as they are (TEMPURA's masked frames: black, no timestamp).
    """
    flags = [False] * len(frames) if skip is None else [bool(x) for x in skip]
    if len(flags) != len(frames):
        raise ValueError(f"skip has {len(flags)} flags for {len(frames)} frames")
    data = np.stack([img.copy() if k else draw_timestamp(img, float(t), pad=OVERLAY_PAD)
                     for img, t, k in zip(frames.data, frames.times, flags, strict=True)])
    return Frames(data, frames.times.copy(), frames.info,
                  None if frames.requested is None else frames.requested.copy(), list(frames.warnings))

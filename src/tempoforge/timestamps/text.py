"""``text``: explicit timestamps (Qwen3-VL's native form, Tempo-R0's ETA, METHODS.md 4).

The video is split into its temporal patches (``temporal_patch_size`` frames each); every patch is its own
vision block preceded by ``<12.5 seconds>``, the mean time of the first and last frame in the patch (Qwen3-VL's
convention).
"""

from __future__ import annotations

from tempoforge.timestamps.registry import TimestampStrategy, time_marker

STRATEGY = TimestampStrategy(
    name="text", order=1, layout="patches", marker=time_marker,
    help="a <12.5 seconds> marker before every frame pair (temporal patch), at its mean time")

"""``frames-as-images``: each frame as its own image, no time signal but their order.

The ablation baseline for ``overlay``: the same layout without the burned-in time.
"""

from __future__ import annotations

from tempoforge.timestamps.registry import TimestampStrategy

STRATEGY = TimestampStrategy(
    name="frames-as-images", order=3, layout="images",
    help="every frame its own image, no time but their order (the baseline for overlay)")

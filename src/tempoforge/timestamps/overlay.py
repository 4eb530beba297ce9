"""``overlay``: TEMPURA's visual timestamp (METHODS.md 2.2).

The frame's time ``f"{t:.1f}"`` is burned into its top-left corner (white bold text on a black box padded
5 px, font height = image height / 10, drawn *before* resizing: ``io.overlay.burn_timestamps``); each frame
is fed as its own image (TEMPURA's input, which gives every frame its own temporal position and avoids the
2-frame temporal merge). Masked frames (TEMPURA's masked event prediction) stay black, without a time.
"""

from __future__ import annotations

from tempoforge.timestamps.registry import TimestampStrategy

STRATEGY = TimestampStrategy(
    name="overlay", order=2, layout="images", burn_in=True,
    help="TEMPURA: the time burned into each frame's corner, every frame its own image")

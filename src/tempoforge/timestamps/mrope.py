"""``mrope``: the model's own time encoding, from the actual frame times.

Qwen2.5-VL: the video as one vision block with time-aware M-RoPE temporal ids ``floor(t * tokens_per_second)``
(``models/positions.py``); Qwen2-VL: one block, temporal id = patch index (the family has no notion of seconds;
time is only order); Qwen3-VL: its native form, a ``<t seconds>`` marker before every temporal patch
(identical to ``text`` for that family).
"""

from __future__ import annotations

from tempoforge.timestamps.registry import TimestampStrategy

STRATEGY = TimestampStrategy(
    name="mrope", order=0, layout="video",
    help="the model's own time encoding (M-RoPE temporal ids from the actual frame times; Qwen3-VL: its "
         "<t seconds> markers)")

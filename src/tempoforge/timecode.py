"""Time conversions: the only place where seconds, frame indices and stream timestamps meet.

tempoforge keeps time in seconds (float) everywhere (DESIGN.md principle 3). Frame indices and stream
``pts`` values are I/O details; they are converted here and nowhere else, so a rounding rule changes in
exactly one place.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = [
    "format_seconds",
    "format_timestamp",
    "frame_to_seconds",
    "parse_timestamp",
    "pts_to_seconds",
    "seconds_to_frame",
    "seconds_to_pts",
    "uniform_times",
]


def pts_to_seconds(pts: int, time_base: Fraction, start_pts: int = 0) -> float:
    """Presentation timestamp (in ``time_base`` units) to seconds, relative to ``start_pts``."""
    return float((pts - start_pts) * time_base)


def seconds_to_pts(seconds: float, time_base: Fraction, start_pts: int = 0) -> int:
    """Seconds to the nearest presentation timestamp in ``time_base`` units (inverse of ``pts_to_seconds``)."""
    return start_pts + round(Fraction(seconds).limit_denominator(1_000_000) / time_base)


def frame_to_seconds(index: int, fps: float) -> float:
    """Nominal time of frame ``index`` at a constant ``fps`` (frame 0 is at 0 s).

    Only valid for constant-rate streams; decoded frames carry their true time in ``Frames.times``.
    """
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    return index / fps


def seconds_to_frame(seconds: float, fps: float, rounding: str = "floor") -> int:
    """Index of the frame showing time ``seconds`` at constant ``fps``.

    ``rounding``: ``"floor"`` (the frame on screen at that instant, the default), ``"nearest"``
    or ``"ceil"`` (the first frame at or after that instant). A tiny epsilon absorbs float error so that
    ``seconds_to_frame(frame_to_seconds(i, fps), fps) == i`` for every i.
    """
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"seconds must be finite, got {seconds!r}")
    x = seconds * fps
    if rounding == "floor":
        return math.floor(x + 1e-6)
    if rounding == "ceil":
        return math.ceil(x - 1e-6)
    if rounding == "nearest":
        return math.floor(x + 0.5)
    raise ValueError(f"rounding must be 'floor', 'nearest' or 'ceil', got {rounding!r}")


def uniform_times(start: float, end: float, *, fps: float | None = None, num: int | None = None) -> list[float]:
    """Target times in ``[start, end)``: every ``1/fps`` seconds, or ``num`` evenly spaced bin centres.

    With ``num``, the span is split into ``num`` equal bins and the centre of each is returned (the
    convention of most video-LLM samplers, which never asks for the very last instant).
    """
    if end < start:
        raise ValueError(f"end ({end}) must not be before start ({start})")
    if (fps is None) == (num is None):
        raise ValueError("give exactly one of fps or num")
    if fps is not None:
        if fps <= 0 or not math.isfinite(fps):
            raise ValueError(f"fps must be a positive finite number, got {fps!r}")
        count = max(1, math.ceil((end - start) * fps - 1e-9))
        return [start + i / fps for i in range(count)]
    assert num is not None
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    step = (end - start) / num
    return [start + (i + 0.5) * step for i in range(num)]


def format_seconds(seconds: float, decimals: int = 1) -> str:
    """``12.5`` -> ``"12.5"``: the plain seconds form used in prompts and overlays (METHODS.md 2.2)."""
    return f"{seconds:.{decimals}f}"


def format_timestamp(seconds: float, decimals: int = 1) -> str:
    """``65.5`` -> ``"00:01:05.5"``: the clock form ``HH:MM:SS[.f]``."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot format {seconds!r} as a clock time")
    scale = 10**decimals
    total = round(seconds * scale)
    whole, frac = divmod(total, scale)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    text = f"{h:02d}:{m:02d}:{s:02d}"
    if decimals > 0:
        text += f".{frac:0{decimals}d}"
    return text


_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")


def parse_timestamp(text: str) -> float:
    """``"00:01:05.5"``, ``"1:05"``, ``"65.5"`` or ``"65.5s"`` -> seconds.

    Raises ``ValueError`` naming the text when it is not a time.
    """
    raw = text.strip().lower().removesuffix("seconds").removesuffix("second").removesuffix("s").strip()
    m = _CLOCK.match(raw)
    if m:
        h = int(m.group(1) or 0)
        return h * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"not a timestamp: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"not a finite timestamp: {text!r}")
    return value

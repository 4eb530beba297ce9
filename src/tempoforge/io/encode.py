"""Writing videos with PyAV (TempoWorld rendering, test fixtures, overlays)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.video.stream import VideoStream

__all__ = ["write_video"]


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    *,
    codec: str = "libx264",
    crf: int = 18,
    gop: int = 12,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB ``uint8`` frames of shape ``(H, W, 3)`` at a constant ``fps`` to ``path``.

    Frame ``i`` gets presentation time ``i / fps`` exactly (time base ``1/fps`` for rational rates).
    ``gop`` sets the keyframe interval, which bounds how far a seek has to decode forward. Width and
    height must be even for ``yuv420p``. The file is written to a temporary name and renamed at the end,
    so a crash never leaves a half-written video under ``path``.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    opts = {"crf": str(crf)} if codec in ("libx264", "libx265") else {}
    opts.update(options or {})
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError(f"no frames to write to {out}")
    height, width = first.shape[:2]
    with av.open(str(tmp), mode="w") as container:
        stream = cast(VideoStream, container.add_stream(codec, rate=rate, options=opts))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.gop_size = gop
        time_base = 1 / rate  # kept here: the muxer may change stream.time_base once writing starts
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        for i, img in enumerate(itertools.chain([first], it)):
            if img.shape[:2] != (height, width):
                raise ValueError(f"frame {i} is {img.shape[1]}x{img.shape[0]}, the video is {width}x{height}")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(out)
    return out

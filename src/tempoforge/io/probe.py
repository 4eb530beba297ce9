"""``probe``: what a video is (duration, frame rate, size, rotation, codec) from its headers and packet index."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import av
import numpy as np

from tempoforge.io.errors import VideoError
from tempoforge.io.index import build_index, open_container, select_video_stream
from tempoforge.records import VideoInfo

__all__ = ["probe", "truncation_warning"]


def _is_variable_rate(pts: np.ndarray) -> bool:
    """True when frame intervals spread by more than 10% around their median (robust to ms jitter)."""
    if len(pts) < 3:
        return False
    d = np.diff(pts).astype(np.float64)
    med = float(np.median(d))
    if med <= 0:
        return True
    lo, hi = np.percentile(d, [2, 98])
    # a 1-tick jitter (WebM's 1 ms time base: 41/42 ms at 24 fps) is not a variable rate
    return bool((hi - lo) > max(0.1 * med, 1.0 + 1e-9))


def _first_frame_rotation(container: av.container.InputContainer, vstream: av.video.stream.VideoStream) -> int:
    """Display rotation (degrees counter-clockwise, 0/90/180/270) read from the first decoded frame."""
    try:
        for frame in container.decode(vstream):
            return round(frame.rotation) % 360
    except av.error.FFmpegError:
        return 0
    return 0


def truncation_warning(info: VideoInfo) -> str | None:
    """``"file is truncated: only the first 2.000 s of 4.000 s can be decoded"`` for a truncated video."""
    if not info.truncated:
        return None
    of = f" of {info.declared_duration:.3f} s" if info.declared_duration else ""
    return f"file is truncated: only the first {info.duration:.3f} s{of} can be decoded"


def probe(path: str | Path, stream: int = 0) -> VideoInfo:
    """Describe the ``stream``-th video stream of ``path`` (cached per file version; see ``_probe``)."""
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file not found")
    st = os.stat(p)
    return _probe_cached(str(p), stream, st.st_mtime_ns, st.st_size).model_copy()


@functools.lru_cache(maxsize=256)
def _probe_cached(path: str, stream: int, _mtime_ns: int, _size: int) -> VideoInfo:
    return _probe(path, stream)


def _probe(path: str | Path, stream: int = 0) -> VideoInfo:
    """Describe the ``stream``-th video stream of ``path``.

    ``duration`` runs from time 0 (the container start) to the end of the last frame; ``fps`` is the
    average rate; ``variable_fps`` is measured from the frame intervals; ``num_frames`` is counted from
    the packet index (exact, no decoding); ``rotation`` is the display rotation that ``sample`` applies.
    A truncated file (it ends before its header says, or demuxing fails before its end) is described by its
    decodable part, with ``truncated`` set and the header's ``declared_duration`` (see :func:`truncation_warning`).
    Raises ``VideoError`` for a missing, empty, unreadable or video-less file.
    """
    p = Path(path)
    index = build_index(p, stream)
    with open_container(p) as container:
        vstream = select_video_stream(container, p, stream)
        cc = vstream.codec_context
        width, height = int(cc.width or 0), int(cc.height or 0)
        if width <= 0 or height <= 0:
            raise VideoError(p, "the video stream has no frame size (corrupt header)")
        has_audio = len(container.streams.audio) > 0
        codec = cc.name or ""
        rotation = _first_frame_rotation(container, vstream)
        avg_rate = vstream.average_rate
    n = len(index.pts)
    duration = index.end_time
    measured_fps = (n - 1) / (index.times[-1] - index.times[0]) if n > 1 and index.times[-1] > index.times[0] else 0.0
    fps = float(avg_rate) if avg_rate else measured_fps
    if measured_fps and abs(fps - measured_fps) > 0.01 * measured_fps:
        fps = measured_fps  # the header rate disagrees with the frames: trust the frames
    if fps <= 0:
        fps = 1.0 / index.frame_duration if index.frame_duration > 0 else 1.0
    return VideoInfo(
        path=str(p),
        duration=duration,
        fps=fps,
        variable_fps=_is_variable_rate(index.pts),
        num_frames=n,
        num_frames_exact=not index.truncated,
        truncated=index.truncated,
        declared_duration=index.declared_duration if index.truncated else None,
        width=width,
        height=height,
        rotation=rotation,
        codec=codec,
        has_audio=has_audio,
        stream_index=stream,
        start_time=float(index.times[0]),
    )

"""The packet index of a video stream: every frame's presentation time and the keyframes, without decoding.

Demuxing reads packet headers only (no decoding), so it costs milliseconds even for long videos; the
index then tells, for any wanted time, which frame is shown (its exact pts) and which keyframe to seek to.
This is how ``sample`` decodes only what it needs and still returns exact times, for constant and
variable frame rates alike.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tempoforge.io.errors import VideoError

__all__ = ["TIME_TOLERANCE", "StreamIndex", "build_index", "decode_from_keyframe", "open_container", "select_video_stream"]


TIME_TOLERANCE = 1e-3  # seconds: a wanted time this close past a frame or a range end still counts as on it


@dataclass(frozen=True)
class StreamIndex:
    """Presentation timestamps of every frame of one video stream, sorted, plus its keyframes.

    ``pts`` are in units of ``time_base``; time 0 is ``origin_pts`` (the container's start, which is what a
    player's clock shows: a stream whose first frame has pts 2.5 s starts at time 0).
    """

    path: str
    stream_index: int
    time_base: Fraction
    origin_pts: int
    pts: np.ndarray  # int64, sorted, unique
    keyframe_pts: np.ndarray  # int64, sorted
    declared_duration: float | None  # what the container header claims, in seconds
    corrupt_tail: bool  # demuxing stopped on an error before the end of the file

    @property
    def times(self) -> np.ndarray:
        """Seconds of every frame relative to the origin (float64)."""
        return (self.pts - self.origin_pts).astype(np.float64) * float(self.time_base)

    @property
    def frame_duration(self) -> float:
        """Median frame interval in seconds (1/fps for a constant-rate stream)."""
        if len(self.pts) < 2:
            return 0.0
        return float(np.median(np.diff(self.pts))) * float(self.time_base)

    @property
    def end_time(self) -> float:
        """End of the last frame in seconds (its pts plus one frame interval)."""
        if len(self.pts) == 0:
            return 0.0
        return float(self.times[-1]) + self.frame_duration

    @property
    def truncated(self) -> bool:
        """True when the decodable frames end well before what the container header declares."""
        if self.corrupt_tail:
            return True
        if self.declared_duration is None or len(self.pts) < 2:
            return False
        return self.end_time < self.declared_duration - max(3 * self.frame_duration, 0.25)

    def nearest(self, times: np.ndarray) -> np.ndarray:
        """Position in ``pts`` of the frame whose time is nearest to each of ``times`` (ties: earlier)."""
        t = self.times
        pos = np.searchsorted(t, times, side="left")
        pos = np.clip(pos, 1, len(t) - 1) if len(t) > 1 else np.zeros_like(pos)
        if len(t) > 1:
            before = t[pos - 1]
            after = t[pos]
            pos = np.where(np.abs(times - before) <= np.abs(after - times), pos - 1, pos)
        return pos.astype(np.int64)

    def keyframe_before(self, pts: int) -> int:
        """The pts of the last keyframe at or before ``pts`` (the first keyframe if none is)."""
        i = int(np.searchsorted(self.keyframe_pts, pts, side="right")) - 1
        return int(self.keyframe_pts[max(i, 0)]) if len(self.keyframe_pts) else int(self.pts[0])


def decode_from_keyframe(container: av.container.InputContainer, vstream: av.video.stream.VideoStream,
                         index: StreamIndex, key_pts: int, first_wanted: int,
                         decode: Callable[[], Iterator[av.VideoFrame]]) -> Iterator[av.VideoFrame]:
    """``decode()``'s frames after seeking ``container`` to the keyframe ``key_pts``.

    A container may land after the keyframe asked for (a missing or coarse seek index): while the first
    frame comes after ``first_wanted``, step back one keyframe (at most 4 times, the last to the start of
    the stream) and decode again. When that still yields no frame, or only frames after ``first_wanted``
    (MPEG-TS: its generic seek can land past the only earlier keyframe), decode from the start of the file.
    """
    seek_to = key_pts
    for _attempt in range(4):
        container.seek(seek_to, stream=vstream, backward=True, any_frame=False)
        frames = decode()
        first = next(frames, None)
        if first is None or first.pts is None or first.pts <= first_wanted or seek_to < index.pts[0]:
            break
        seek_to = index.keyframe_before(seek_to - 1) if seek_to > index.keyframe_pts[0] else int(index.pts[0]) - 1
    if first is None or (first.pts is not None and first.pts > first_wanted):
        container.seek(0)  # the container's own start (AV_TIME_BASE units), which every demuxer reaches
        frames = decode()
        first = next(frames, None)
    return frames if first is None else itertools.chain([first], frames)


def open_container(path: str | Path) -> av.container.InputContainer:
    """Open ``path`` with PyAV, turning every failure into a ``VideoError`` with a plain reason."""
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file not found")
    if p.is_dir():
        raise VideoError(p, "is a directory, not a video file")
    if p.stat().st_size == 0:
        raise VideoError(p, "file is empty (0 bytes)")
    try:
        return av.open(str(p), mode="r", metadata_errors="ignore")
    except av.error.InvalidDataError:
        with p.open("rb") as fh:
            head = fh.read(12)
        if head[4:8] == b"ftyp":  # an MP4/MOV whose index (moov atom) is missing
            raise VideoError(p, "MP4 without its index (moov atom not found): truncated or unfinished file") from None
        raise VideoError(p, "not a video (unrecognised or corrupt data)") from None
    except av.error.EOFError:
        raise VideoError(p, "the file ends right after its header: no frames (empty or cut before its first frame)") from None
    except av.error.FFmpegError as exc:
        reason = str(exc)
        if "moov atom not found" in reason:
            raise VideoError(p, "cannot open: moov atom not found (the MP4 is truncated or unfinished)") from None
        raise VideoError(p, f"cannot open: {reason}") from None


def select_video_stream(container: av.container.InputContainer, path: str | Path, stream: int = 0) -> av.video.stream.VideoStream:
    """The ``stream``-th video stream (0 = the first), or a ``VideoError`` when there is none."""
    videos = container.streams.video
    if not videos:
        kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["none"]
        raise VideoError(path, f"no video stream (streams: {', '.join(kinds)})")
    if not 0 <= stream < len(videos):
        raise VideoError(path, f"video stream {stream} requested, the file has {len(videos)}")
    return videos[stream]


def _origin_pts(container: av.container.InputContainer, vstream: av.video.stream.VideoStream, first_pts: int) -> int:
    """pts (in the stream's time base) of time 0: the container start, else the stream's first frame."""
    tb = vstream.time_base
    assert tb is not None
    if container.start_time is not None:
        origin = round(Fraction(container.start_time, av.time_base) / tb)
        return min(origin, first_pts)
    return first_pts


@functools.lru_cache(maxsize=64)
def _cached_index(path: str, stream: int, _mtime_ns: int, _size: int) -> StreamIndex:
    with open_container(path) as container:
        vstream = select_video_stream(container, path, stream)
        tb = vstream.time_base
        assert tb is not None
        pts: list[int] = []
        keys: list[int] = []
        corrupt = False
        try:
            for packet in container.demux(vstream):
                if packet.pts is None or packet.size == 0:
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.error.FFmpegError:
            corrupt = True
        if not pts:
            raise VideoError(path, "the video stream has no frames (empty or truncated before the first frame)")
        pts_arr = np.unique(np.asarray(pts, dtype=np.int64))
        key_arr = np.unique(np.asarray(keys or [pts_arr[0]], dtype=np.int64))
        declared: float | None = None
        if vstream.duration is not None:
            declared = float(vstream.duration * tb)
        elif container.duration is not None:
            declared = container.duration / av.time_base
        origin = _origin_pts(container, vstream, int(pts_arr[0]))
        if vstream.start_time is not None and declared is not None and vstream.duration is not None:
            declared += float((vstream.start_time - origin) * tb)
        return StreamIndex(
            path=path,
            stream_index=stream,
            time_base=Fraction(tb),
            origin_pts=origin,
            pts=pts_arr,
            keyframe_pts=key_arr,
            declared_duration=declared,
            corrupt_tail=corrupt,
        )


def build_index(path: str | Path, stream: int = 0) -> StreamIndex:
    """Demux ``path`` once and index its ``stream``-th video stream (cached by path, mtime and size)."""
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file not found")
    st = os.stat(p)
    return _cached_index(str(p), stream, st.st_mtime_ns, st.st_size)

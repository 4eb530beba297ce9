"""``iter_frames`` / ``map_frames``: every frame of a range, in order, decoded by several decoders at once.

A dense pass (per-frame signals, shot detection) needs every frame. One decoder is a serial chain, and
FFmpeg's frame threads scale poorly on few cores, so the range is cut at keyframes into *chunks* of whole
GOPs (``plan_chunks``) and each chunk is decoded by its own single-threaded decoder on its own container,
one per core (PyAV releases the GIL while decoding and scaling). Chunks are yielded in order, so the
caller sees exactly the sequence one decoder would give (bit-exact: decoding restarts at keyframes,
which nothing before them is referenced from; tested against one decoder on B-frame, variable-rate and
real videos). The chunk being read streams frame by frame; at most ``workers + 1`` chunks are in flight,
and a chunk's frames are capped in bytes, so memory stays bounded on long videos. ``map_frames`` runs a
per-frame function in the decoder threads (the curation signals: HSV, grey, Laplacian per frame).
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from tempoforge.io.convert import decode_workers, output_size, to_rgb
from tempoforge.io.errors import VideoError
from tempoforge.io.index import (
    TIME_TOLERANCE,
    StreamIndex,
    build_index,
    decode_from_keyframe,
    open_container,
    select_video_stream,
)
from tempoforge.io.probe import probe

__all__ = ["iter_frames", "map_frames", "plan_chunks"]

T = TypeVar("T")

# a chunk spans whole GOPs and at least this many frames (starting a decoder costs a few frames' worth)
_CHUNK_MIN_FRAMES = 48
# decoded frames one chunk may hold; a GOP larger than this is decoded by one streaming decoder instead
_CHUNK_MAX_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    """Frames with ``first_pts <= pts < end_pts`` (``end_pts`` None: to the end), decoded from ``seek_pts``."""

    seek_pts: int
    first_pts: int
    end_pts: int | None


def plan_chunks(index: StreamIndex, lo_pts: int, hi_pts: int | None, frame_bytes: int,
                min_frames: int = _CHUNK_MIN_FRAMES, max_bytes: int = _CHUNK_MAX_BYTES) -> list[Chunk]:
    """Cut the frames with ``lo_pts <= pts < hi_pts`` at keyframes into chunks of whole GOPs.

    A chunk closes at a keyframe once it holds ``min_frames`` (and the rest of the range at least half
    that), or when the next GOP would take it past ``max_bytes`` of decoded frames. Returns a single chunk
    (one streaming decoder) when the range holds no inner keyframe or one GOP alone exceeds ``max_bytes``.
    """
    pts = index.pts
    first = int(np.searchsorted(pts, lo_pts, side="left"))
    last = len(pts) if hi_pts is None else int(np.searchsorted(pts, hi_pts, side="left"))
    whole = [Chunk(index.keyframe_before(lo_pts), lo_pts, hi_pts)]
    key_pos = np.searchsorted(pts, index.keyframe_pts)
    bounds = [first, *key_pos[(key_pos > first) & (key_pos < last)].tolist(), last]
    if last - first <= min_frames or len(bounds) == 2 or max(np.diff(bounds)) * frame_bytes > max_bytes:
        return whole
    cuts: list[int] = []
    chunk_start = first
    for b, next_b in itertools.pairwise(bounds[1:]):
        full = b - chunk_start >= min_frames and last - b >= min_frames // 2
        if full or (next_b - chunk_start) * frame_bytes > max_bytes:
            cuts.append(b)
            chunk_start = b
    if not cuts:
        return whole
    firsts = [lo_pts, *(int(pts[b]) for b in cuts)]
    ends: list[int | None] = [*(int(pts[b]) for b in cuts), hi_pts]
    return [Chunk(index.keyframe_before(f), f, e) for f, e in zip(firsts, ends, strict=True)]


def _decode_chunk(path: Path, stream: int, index: StreamIndex, chunk: Chunk, out_wh: tuple[int, int],
                  threads: int, stop: threading.Event, bgr: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """``(pts, rgb)`` of the chunk's frames in order, all of display size ``out_wh``, from one decoder; stops
    early if ``stop`` is set. A frame already of that size is not rescaled (a stream that changes its frame
    size mid-way is, so every frame has the same shape)."""
    reformatter = VideoReformatter()
    with open_container(path) as container:
        vstream = select_video_stream(container, path, stream)
        vstream.thread_type = "AUTO" if threads != 1 else "NONE"
        vstream.thread_count = threads
        frames = decode_from_keyframe(container, vstream, index, chunk.seek_pts, chunk.first_pts,
                                      lambda: container.decode(vstream))
        for frame in frames:
            if stop.is_set():
                return
            if frame.pts is None or frame.pts < chunk.first_pts:
                continue
            if chunk.end_pts is not None and frame.pts >= chunk.end_pts:
                return
            shown = (frame.height, frame.width) if round(frame.rotation) % 180 else (frame.width, frame.height)
            resize = None if shown == out_wh else out_wh
            yield frame.pts, np.ascontiguousarray(to_rgb(frame, resize, reformatter, bgr))


_DONE = object()


def _fill(sink: queue.SimpleQueue[Any], path: Path, stream: int, index: StreamIndex, chunk: Chunk,
          out_wh: tuple[int, int], threads: int, fn: Callable[[np.ndarray], Any] | None,
          stop: threading.Event, bgr: bool) -> None:
    """Decode ``chunk`` into ``sink`` as ``(pts, fn(rgb))`` items, then ``_DONE`` or the error that ended it."""
    try:
        for pts, rgb in _decode_chunk(path, stream, index, chunk, out_wh, threads, stop, bgr):
            sink.put((pts, rgb if fn is None else fn(rgb)))
    except av.error.FFmpegError as exc:
        sink.put(VideoError(path, f"decoding failed ({exc}); the file is corrupt or truncated"))
    except BaseException as exc:  # handed to the consumer, raised there
        sink.put(exc)
    else:
        sink.put(_DONE)


def iter_frames(
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    max_pixels: int | None = None,
    start: float | None = None,
    end: float | None = None,
    stream: int = 0,
    workers: int | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Every frame in ``[start, end)`` in order, as ``(time_seconds, rgb_uint8)``.

    For dense passes (per-frame signals, shot detection): frames resized by swscale to ``size=(w, h)`` or
    at most ``max_pixels``, decoded by up to ``workers`` parallel decoders (default: one per core, or
    ``TEMPOFORGE_DECODE_WORKERS``). Stops with a ``VideoError`` on corrupt data mid-stream after yielding
    everything before it.
    """
    return map_frames(path, None, size=size, max_pixels=max_pixels, start=start, end=end, stream=stream,
                      workers=workers)


def map_frames(
    path: str | Path,
    fn: Callable[[np.ndarray], T] | None,
    *,
    size: tuple[int, int] | None = None,
    max_pixels: int | None = None,
    start: float | None = None,
    end: float | None = None,
    stream: int = 0,
    workers: int | None = None,
    bgr: bool = False,
) -> Iterator[tuple[float, T]]:
    """``(time_seconds, fn(rgb))`` for every frame in ``[start, end)``, in order, ``fn`` run in the decoder
    threads (so per-frame work that releases the GIL, like OpenCV's, runs in parallel too).

    Same decoding as ``iter_frames`` (``fn=None`` gives the RGB frames). The frames of the chunk being read
    stream as they are decoded; the next ``workers`` chunks decode ahead. ``bgr`` hands ``fn`` BGR frames
    (OpenCV's order, and a quicker swscale conversion).
    """
    p = Path(path)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    index = build_index(p, stream)
    info = probe(p, stream)
    out_wh = output_size(*info.display_size, size=size, max_pixels=max_pixels)
    tb = float(index.time_base)
    lo_pts = int(index.pts[0]) if start is None else index.origin_pts + math.ceil((float(start) - TIME_TOLERANCE) / tb)
    hi_pts = None if end is None else index.origin_pts + math.ceil((float(end) - TIME_TOLERANCE) / tb)
    budget = decode_workers()
    n_workers = budget if workers is None else workers
    chunks = plan_chunks(index, lo_pts, hi_pts, out_wh[0] * out_wh[1] * 3) if n_workers > 1 else []
    if len(chunks) <= 1:
        chunks = [Chunk(index.keyframe_before(lo_pts), lo_pts, hi_pts)]
    # several chunks: single-threaded decoders; one: FFmpeg's threads, unless this process has one core's share
    threads = 1 if len(chunks) > 1 or budget == 1 else 0
    return _iter_chunks(p, stream, index, chunks, out_wh, fn, n_workers, bgr, threads)


def _iter_chunks(path: Path, stream: int, index: StreamIndex, chunks: list[Chunk], out_wh: tuple[int, int],
                 fn: Callable[[np.ndarray], Any] | None, n_workers: int, bgr: bool,
                 threads: int) -> Iterator[tuple[float, Any]]:
    """Chunks decoded by a pool, yielded in order, at most ``n_workers + 1`` in flight; ``threads`` FFmpeg
    threads per decoder (0 = FFmpeg's choice)."""
    stop = threading.Event()
    sinks: deque[queue.SimpleQueue[Any]] = deque()
    todo = iter(chunks)
    pool = ThreadPoolExecutor(min(n_workers, len(chunks)), thread_name_prefix="tempoforge-dense")

    def submit_next() -> None:
        chunk = next(todo, None)
        if chunk is not None:
            sink: queue.SimpleQueue[Any] = queue.SimpleQueue()
            sinks.append(sink)
            pool.submit(_fill, sink, path, stream, index, chunk, out_wh, threads, fn, stop, bgr)

    origin, tb = index.origin_pts, index.time_base
    try:
        for _ in range(n_workers + 1):
            submit_next()
        while sinks:
            sink = sinks.popleft()
            submit_next()
            while (item := sink.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield float((item[0] - origin) * tb), item[1]
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)

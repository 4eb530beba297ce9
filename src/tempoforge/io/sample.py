"""``sample``: decode only the frames you need, and return each with its true presentation time.

The plan is made on the packet index (``io/index.py``) before anything is decoded: each wanted time maps
to the frame shown nearest to it, and each such frame to the keyframe it must be decoded from. The decoder
seeks only when the next wanted frame lies past the next keyframe; otherwise it decodes forward. Times
are read from the decoded frames themselves, so they are exact for constant, fractional (29.97) and
variable frame rates and for streams that do not start at 0.

When the plan holds enough work, it is cut into contiguous runs of equal decoding cost, and each run is
decoded by its own single-threaded decoder on its own container, one per core (PyAV releases the GIL
while decoding). Independent decoders scale better than FFmpeg's frame threads here: a seek flushes a
frame-threaded decoder's pipeline, and switching ``skip_frame`` per packet serialises it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

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
from tempoforge.records import Frames, VideoInfo
from tempoforge.timecode import uniform_times

__all__ = ["sample"]

# a seek flushes the decoder and refills its thread pipeline; below this many skipped frames, decoding on is cheaper
_SEEK_MIN_SKIP = 16
# below this many frames to decode in all, one decoder is quicker than opening more containers
_PARALLEL_MIN_FRAMES = 96


def _targets(info: VideoInfo, start: float, end: float, fps: float | None, num_frames: int | None,
             times: Sequence[float] | None, max_frames: int | None, warnings: list[str]) -> np.ndarray:
    if sum(x is not None for x in (fps, num_frames, times)) != 1:
        raise ValueError("give exactly one of fps, num_frames or times")
    if times is not None:
        t = np.asarray(list(times), dtype=np.float64)
        if t.size == 0:
            raise ValueError("times is empty")
        if not np.all(np.isfinite(t)):
            raise ValueError("times contains a non-finite value")
        t = np.sort(t)
    elif fps is not None:
        t = np.asarray(uniform_times(start, end, fps=fps))
    else:
        assert num_frames is not None
        t = np.asarray(uniform_times(start, end, num=num_frames))
    if max_frames is not None and len(t) > max_frames:
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        # never truncate: spread the cap over the whole range so the end of the video is kept
        if times is not None:
            t = t[np.linspace(0, len(t) - 1, max_frames).round().astype(int)]
        else:
            t = np.asarray(uniform_times(start, end, num=max_frames))
        eff = max_frames / max(end - start, 1e-9)
        warnings.append(
            f"{len(t) if times is None else len(times)} frames requested exceed max_frames={max_frames}: "
            f"sampled {max_frames} frames over the whole range instead (effective {eff:.3g} fps)"
        )
    return t


def _check_range(path: Path, index: StreamIndex, info: VideoInfo, t: np.ndarray, warnings: list[str]) -> None:
    if np.any(t < -TIME_TOLERANCE):
        raise VideoError(path, f"time {float(t.min()):.3f} s is before the start of the video")
    limit = info.duration + TIME_TOLERANCE
    if np.any(t > limit):
        where = "the decodable part of this truncated file ends" if index.truncated else "the video ends"
        raise VideoError(path, f"time {float(t.max()):.3f} s asked for, but {where} at {info.duration:.3f} s")
    if index.truncated:
        declared = index.declared_duration
        warnings.append(
            f"{path}: file is truncated; only the first {info.duration:.3f} s"
            + (f" of {declared:.3f} s" if declared else "") + " can be decoded"
        )


class _SkipPolicy:
    """Packets presented well before the current target are decoded with ``skip_frame=NONREF``.

    A non-reference frame (a B-frame nothing else predicts from) is never needed to reach a later frame, so
    skipping it while far from the target keeps every reference intact and the target bit-exact; from
    ``margin`` pts before the target on, every packet is decoded.
    """

    def __init__(self, margin: int) -> None:
        self.target = 0
        self.margin = margin


def _decode_stream(container: av.container.InputContainer, vstream: av.video.stream.VideoStream,
                   policy: _SkipPolicy) -> Iterator[av.VideoFrame]:
    """Frames of ``vstream`` from the current position, the skip mode chosen per packet by ``policy``."""
    cc = vstream.codec_context
    for packet in container.demux(vstream):
        far = packet.pts is not None and packet.pts < policy.target - policy.margin
        mode: Literal["NONREF", "DEFAULT"] = "NONREF" if far else "DEFAULT"
        if cc.skip_frame != mode:
            cc.skip_frame = mode
        yield from vstream.decode(packet)


def _decode_wanted(container: av.container.InputContainer, vstream: av.video.stream.VideoStream,
                   index: StreamIndex, wanted: np.ndarray, out_wh: tuple[int, int] | None,
                   path: Path, out: np.ndarray) -> list[int]:
    """Decode the frames whose pts are in ``wanted`` (sorted) into ``out[0], out[1], ...``, seeking only
    when it saves work; returns the pts of the frames written (fewer than asked if the decoder ran dry)."""
    got_pts: list[int] = []
    reformatter = VideoReformatter()
    frames_iter: Iterator[av.VideoFrame] | None = None
    last_pts: int | None = None
    step = int(np.median(np.diff(index.pts))) if len(index.pts) > 1 else 1
    policy = _SkipPolicy(margin=max(step, 1))  # the target packet itself is always decoded
    for target in (int(p) for p in wanted):
        policy.target = target
        key = index.keyframe_before(target)
        # seek only when it skips enough frames to pay for flushing the (threaded) decoder
        found = None
        try:
            if frames_iter is None or last_pts is None or last_pts >= target or _frames_between(index, last_pts, key) > _SEEK_MIN_SKIP:
                frames_iter = decode_from_keyframe(container, vstream, index, key, target,
                                                   lambda: _decode_stream(container, vstream, policy))
            for frame in frames_iter:
                fpts = frame.pts if frame.pts is not None else target
                last_pts = fpts
                if fpts >= target:
                    found = frame
                    break
        except av.error.FFmpegError as exc:
            raise VideoError(path, f"decoding failed near {float((target - index.origin_pts) * index.time_base):.3f} s "
                             f"({exc}); the file is corrupt or truncated") from None
        if found is None:
            break  # the decoder ran dry: the remaining frames are not decodable
        img = to_rgb(found, out_wh, reformatter)
        slot = out[len(got_pts)]
        if img.shape != slot.shape:  # the stream changed its frame size: scale to the size the index reported
            img = to_rgb(found, (slot.shape[1], slot.shape[0]), reformatter)
        slot[...] = img
        got_pts.append(found.pts if found.pts is not None else target)
    return got_pts


def _frames_between(index: StreamIndex, a: int, b: int) -> int:
    """How many frames lie strictly between pts ``a`` and ``b`` (0 when ``b <= a``)."""
    if b <= a:
        return 0
    return int(np.searchsorted(index.pts, b, side="left") - np.searchsorted(index.pts, a, side="right"))


def _decode_costs(index: StreamIndex, wanted: np.ndarray) -> np.ndarray:
    """Frames decoded to reach each wanted pts (sorted) after the previous one: a seek's run or the gap."""
    pos = np.searchsorted(index.pts, wanted)
    key_pos = np.searchsorted(index.pts, [index.keyframe_before(int(p)) for p in wanted])
    prev = np.concatenate([[-1], pos[:-1]])
    start = np.where(key_pos - prev > _SEEK_MIN_SKIP, key_pos, prev + 1)
    return np.maximum(pos - start + 1, 1).astype(np.float64)


def _split_plan(index: StreamIndex, wanted: np.ndarray, workers: int) -> list[np.ndarray]:
    """``wanted`` cut into at most ``workers`` contiguous runs of about equal decoding cost."""
    cost = _decode_costs(index, wanted)
    if workers <= 1 or len(wanted) < 2 or cost.sum() < _PARALLEL_MIN_FRAMES:
        return [wanted]
    cum = np.cumsum(cost)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, workers) / workers)
    cuts = np.unique(np.clip(cuts, 1, len(wanted) - 1))
    return [part for part in np.split(wanted, cuts) if len(part)]


def _decode_run(path: Path, stream: int, index: StreamIndex, wanted: np.ndarray, out_wh: tuple[int, int] | None,
                threads: int, out: np.ndarray) -> list[int]:
    """One decoder on its own container for the sorted pts ``wanted``; ``threads`` FFmpeg threads (0 = auto)."""
    with open_container(path) as container:
        vstream = select_video_stream(container, path, stream)
        vstream.thread_type = "AUTO" if threads != 1 else "NONE"
        vstream.thread_count = threads
        return _decode_wanted(container, vstream, index, wanted, out_wh, path, out)


def _decode_plan(path: Path, stream: int, index: StreamIndex, wanted: np.ndarray, out_wh: tuple[int, int] | None,
                 workers: int | None, out: np.ndarray) -> list[int]:
    """Decode ``wanted`` into ``out`` (one slot per pts) in contiguous runs, one decoder per run in parallel.

    Returns the pts decoded. As with one decoder, decoding stops at the first run that comes up short
    (corrupt or truncated data): frames after it are dropped, so the result is always a prefix of ``wanted``.
    """
    budget = decode_workers()
    runs = _split_plan(index, wanted, budget if workers is None else workers)
    if len(runs) == 1:
        return _decode_run(path, stream, index, wanted, out_wh, 0 if budget > 1 else 1, out)
    threads = max(1, budget // len(runs))
    offsets = np.concatenate([[0], np.cumsum([len(run) for run in runs])])
    with ThreadPoolExecutor(len(runs), thread_name_prefix="tempoforge-decode") as pool:
        results = list(pool.map(
            lambda k: _decode_run(path, stream, index, runs[k], out_wh, threads, out[offsets[k]:offsets[k + 1]]),
            range(len(runs)),
        ))
    got: list[int] = []
    for run, run_got in zip(runs, results, strict=True):
        got += run_got
        if len(run_got) < len(run):
            break
    return got


def sample(
    path: str | Path,
    *,
    fps: float | None = None,
    num_frames: int | None = None,
    times: Sequence[float] | None = None,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    max_pixels: int | None = None,
    size: tuple[int, int] | None = None,
    stream: int = 0,
    dedupe: bool = True,
    workers: int | None = None,
) -> Frames:
    """Frames of ``path`` at ``fps`` / ``num_frames`` evenly spread / explicit ``times`` (seconds).

    Each returned frame is the one *shown nearest* to a wanted time, and ``Frames.times`` holds its true
    presentation time (``Frames.requested`` the wanted one). ``start``/``end`` bound the range (default:
    the whole video). ``max_frames`` caps the count by spreading the cap over the *whole* range, never by
    dropping the end (a warning says so). With ``dedupe``, wanted times that fall on the same frame give
    it once. Frames are RGB ``uint8`` in display orientation (rotation metadata applied), resized to
    ``size=(w, h)`` or to at most ``max_pixels``.

    A truncated file yields its decodable part with a warning in ``Frames.warnings``; asking for a time
    past it raises ``VideoError``, as do missing, empty and non-video files. ``workers`` caps the parallel
    decoders (default: one per available core, or ``TEMPOFORGE_DECODE_WORKERS``; 1 = a single decoder).
    """
    p = Path(path)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    index = build_index(p, stream)
    info = probe(p, stream)
    warnings: list[str] = []
    lo = 0.0 if start is None else float(start)
    hi = info.duration if end is None else float(end)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"invalid range start={start}, end={end}")
    if end is not None and hi > info.duration + TIME_TOLERANCE:
        _check_range(p, index, info, np.asarray([hi]), warnings)
    t = _targets(info, lo, hi, fps, num_frames, times, max_frames, warnings)
    _check_range(p, index, info, t, warnings)
    pos = index.nearest(t)
    if dedupe:
        pos, first = np.unique(pos, return_index=True)
        t = t[first]
    out_wh = output_size(*info.display_size, size=size, max_pixels=max_pixels)
    resize = None if out_wh == info.display_size else out_wh
    uniq_pos = np.unique(pos)
    # decoders write straight into the result: no per-frame list + np.stack (two copies, double the peak memory)
    images = np.empty((len(uniq_pos), out_wh[1], out_wh[0], 3), np.uint8)
    got = _decode_plan(p, stream, index, index.pts[uniq_pos], resize, workers, images)
    if len(got) < len(uniq_pos):
        decoded_until = float((got[-1] - index.origin_pts) * index.time_base) if got else 0.0
        if not got:
            raise VideoError(p, "no frame could be decoded (corrupt or truncated data)")
        warnings.append(f"{p}: decoding stopped at {decoded_until:.3f} s; later frames were dropped (corrupt data)")
        keep = np.searchsorted(index.pts[uniq_pos], got[-1], side="right")
        uniq_pos = uniq_pos[:keep]
        sel = np.isin(pos, uniq_pos)
        pos, t = pos[sel], t[sel]
    order = np.searchsorted(uniq_pos, pos)
    images = images[:len(got)]
    # with dedupe each frame is wanted once, in order: the decoded array is the result, no copy
    data = images if np.array_equal(order, np.arange(len(images))) else images[order]
    got_times = (np.asarray(got, dtype=np.int64) - index.origin_pts).astype(np.float64) * float(index.time_base)
    return Frames(data=data, times=got_times[order], info=info, requested=t, warnings=warnings)

"""``iter_frames``: parallel decoders on keyframe-aligned chunks give exactly what one decoder gives."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest

from tempoforge.io import iter_frames, probe
from tempoforge.io.dense import Chunk, plan_chunks
from tempoforge.io.index import StreamIndex, build_index


def _index(n: int, gop: int) -> StreamIndex:
    pts = np.arange(n, dtype=np.int64)
    return StreamIndex(path="x", stream_index=0, time_base=Fraction(1, 25), origin_pts=0, pts=pts,
                       keyframe_pts=pts[::gop], declared_duration=None, corrupt_tail=False)


def test_plan_chunks_cuts_at_keyframes_once_a_chunk_is_full() -> None:
    index = _index(100, gop=10)
    # min 25 frames: the first keyframe at or past 25 frames into a chunk is 30, then 60; at 90 only 10
    # frames would remain (< 25 // 2), so the last chunk runs to the end
    assert plan_chunks(index, 0, None, frame_bytes=1, min_frames=25) == [
        Chunk(0, 0, 30), Chunk(30, 30, 60), Chunk(60, 60, None)]
    # a range starting mid-GOP decodes from the keyframe before it (10); 25 frames from 15 reach the
    # keyframe at 40; at 70 only 5 frames would remain, so the range end (75) bounds the last chunk
    assert plan_chunks(index, 15, 75, frame_bytes=1, min_frames=25) == [Chunk(10, 15, 40), Chunk(40, 40, 75)]
    # a byte cap of 25 frames closes a chunk before the GOP that would overflow it: every 20 frames
    assert plan_chunks(index, 0, None, frame_bytes=1, min_frames=90, max_bytes=25) == [
        Chunk(0, 0, 20), Chunk(20, 20, 40), Chunk(40, 40, 60), Chunk(60, 60, 80), Chunk(80, 80, None)]
    # one GOP over the cap, or no inner keyframe: one streaming decoder
    assert plan_chunks(index, 0, None, frame_bytes=1, min_frames=25, max_bytes=5) == [Chunk(0, 0, None)]
    assert plan_chunks(_index(100, gop=100), 0, None, frame_bytes=1, min_frames=25) == [Chunk(0, 0, None)]


def _assert_same_frames(path, **kwargs) -> int:  # type: ignore[no-untyped-def]
    one = list(iter_frames(path, workers=1, **kwargs))
    many = list(iter_frames(path, workers=3, **kwargs))
    assert [t for t, _ in many] == [t for t, _ in one]
    for (_, a), (_, b) in zip(many, one, strict=True):
        np.testing.assert_array_equal(a, b)
    return len(one)


def test_parallel_dense_decode_equals_one_decoder_on_b_frames(bframe_video, long_gop_video) -> None:
    for path in (bframe_video, long_gop_video):
        index = build_index(path)
        assert len(plan_chunks(index, int(index.pts[0]), None, 96 * 64 * 3)) > 2, "must exercise chunking"
        assert _assert_same_frames(path) == 500
    # a range that starts and ends mid-GOP: 3.1 s .. 17.3 s at 25 fps = frames 78 .. 432
    assert _assert_same_frames(bframe_video, start=3.1, end=17.3, size=(48, 32)) == 433 - 78


def test_parallel_dense_decode_equals_one_decoder_on_real_videos(datasets_dir) -> None:
    for name in ("big_buck_bunny_0_30.webm", "one-by-one-person-detection.mp4"):
        path = datasets_dir / "videos" / name
        assert _assert_same_frames(path, size=(64, 36)) == probe(path).num_frames


def test_stopping_early_shuts_the_decoders_down(bframe_video) -> None:
    frames = iter_frames(bframe_video, workers=2)
    assert [round(t * 25) for t, _ in (next(frames), next(frames), next(frames))] == [0, 1, 2]
    frames.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("tempoforge-dense")]


def test_workers_must_be_positive(bframe_video) -> None:
    with pytest.raises(ValueError, match="workers must be >= 1"):
        next(iter_frames(bframe_video, workers=0))


def test_decode_workers_follow_the_process_share(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tempoforge.io.convert import DECODE_WORKERS_ENV, available_cpus, decode_workers

    monkeypatch.delenv(DECODE_WORKERS_ENV, raising=False)
    assert decode_workers() == available_cpus()
    monkeypatch.setenv(DECODE_WORKERS_ENV, "3")
    assert decode_workers() == 3
    monkeypatch.setenv(DECODE_WORKERS_ENV, "zero")
    with pytest.raises(ValueError, match="TEMPOFORGE_DECODE_WORKERS must be a whole number"):
        decode_workers()


def test_the_process_share_caps_the_parallel_decoders(bframe_video, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A pool process given one core's share decodes with one decoder thread, not one per core."""
    from tempoforge.io.convert import DECODE_WORKERS_ENV

    def decoder_threads() -> int:
        seen: set[str] = set()
        for _ in iter_frames(bframe_video, size=(32, 32)):
            seen |= {t.name for t in threading.enumerate() if t.name.startswith("tempoforge-dense")}
        return len(seen)

    monkeypatch.setenv(DECODE_WORKERS_ENV, "2")
    assert decoder_threads() == 2
    monkeypatch.setenv(DECODE_WORKERS_ENV, "1")
    assert decoder_threads() == 1

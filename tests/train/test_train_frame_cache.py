"""The training frame cache: bounded in bytes, least-recently-used out, read-only entries."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.models.video import FrameCache
from tempoforge.records import Frames


def _frames(n_bytes: int) -> Frames:
    return Frames(data=np.zeros((1, 1, n_bytes // 3, 3), np.uint8), times=np.zeros(1))


def test_evicts_least_recently_used_once_over_budget() -> None:
    cache = FrameCache(max_bytes=300)
    loads: list[str] = []

    def loader(key: str, size: int):  # type: ignore[no-untyped-def]
        return lambda: (loads.append(key), _frames(size))[1]

    cache.get("a", loader("a", 120))
    cache.get("b", loader("b", 120))
    cache.get("a", loader("a", 120))  # hit: "a" becomes the most recent
    cache.get("c", loader("c", 120))  # 360 bytes > 300: "b", the least recent, goes
    assert cache.bytes == 240 and len(cache) == 2
    cache.get("a", loader("a", 120))
    cache.get("b", loader("b", 120))  # reloaded
    assert loads == ["a", "b", "c", "b"]
    assert (cache.hits, cache.misses) == (2, 4)


def test_entry_over_the_whole_budget_is_served_not_kept() -> None:
    cache = FrameCache(max_bytes=100)
    got = cache.get("big", lambda: _frames(300))
    assert got.data.nbytes == 300 and len(cache) == 0 and cache.bytes == 0


def test_cached_frames_are_read_only() -> None:
    cache = FrameCache(max_bytes=10_000)
    frames = cache.get("x", lambda: _frames(30))
    with pytest.raises(ValueError, match="read-only"):
        frames.data[0, 0, 0, 0] = 1


def test_load_frames_decodes_a_changed_file_again(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from tempoforge.io import write_video
    from tempoforge.models import video as data

    monkeypatch.setattr(data, "FRAME_CACHE", FrameCache(max_bytes=10**8))
    path = tmp_path / "v.mp4"
    write_video(path, np.full((10, 32, 32, 3), 40, np.uint8), fps=5)
    settings = data.VideoSettings(fps=1.0, max_frames=4)
    first = data.load_frames(path, settings)
    assert data.load_frames(path, settings) is first  # served from the cache
    other = tmp_path / "w.mp4"
    write_video(other, np.full((10, 32, 32, 3), 200, np.uint8), fps=5)
    shutil.copyfile(other, path)  # same path, new content (new mtime and size)
    again = data.load_frames(path, settings)
    assert again is not first and int(again.data.mean()) > 150

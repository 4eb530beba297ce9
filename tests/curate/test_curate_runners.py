"""The process-pool and Ray Data runners give the same records as the sequential run; a runner only calls the
work the pipeline hands it (``run(work, items, workers)``)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tempoforge.curate.config import TEMPLE_STEPS, CurateConfig
from tempoforge.curate.pipeline import curate
from tempoforge.curate.runners.local import run_local

Factory = Callable[..., tuple[Path, list[float]]]


def _sorted_lines(out: Path) -> dict[str, list[str]]:
    return {name: sorted((out / name).read_text().splitlines()) if (out / name).exists() else []
            for name in ("kept.jsonl", "rejected.jsonl")}


@pytest.fixture
def videos(video_factory: Factory, tmp_path: Path) -> Path:
    names = ["red", "green", "blue", "yellow", "purple", "cyan"]
    for v in range(4):
        video_factory(f"v{v}.mp4", [(names[(v + k) % 6], 24 + 2 * k) for k in range(4 + v % 2)])
    video_factory("recurring.mp4", [("red", 24), ("green", 24), ("red", 24), ("blue", 24), ("yellow", 24)])
    (tmp_path / "videos" / "broken.webm").write_bytes(b"\x1aE\xdf\xa3 not really a video")
    return tmp_path / "videos"


@pytest.mark.integration
def test_process_pool_equals_sequential(videos: Path, tmp_path: Path) -> None:
    cfg = CurateConfig(steps=list(TEMPLE_STEPS), detector="adaptive", also_detect=["content"])
    curate(videos, tmp_path / "seq", cfg, progress=False)
    curate(videos, tmp_path / "pool", cfg, runner=run_local, workers=2, progress=False)
    seq = _sorted_lines(tmp_path / "seq")
    assert len(seq["kept.jsonl"]) >= 4 and len(seq["rejected.jsonl"]) == 2
    assert _sorted_lines(tmp_path / "pool") == seq


@pytest.mark.integration
def test_ray_runner_equals_local(videos: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="needs the 'ray' extra")
    from tempoforge.curate.runners.ray import run_ray

    cfg = CurateConfig(steps=list(TEMPLE_STEPS), detector="adaptive")
    curate(videos, tmp_path / "local", cfg, progress=False)
    try:
        curate(videos, tmp_path / "ray", cfg, runner=run_ray, workers=2, progress=False)
    finally:
        ray.shutdown()
    local = _sorted_lines(tmp_path / "local")
    assert len(local["kept.jsonl"]) >= 4
    assert _sorted_lines(tmp_path / "ray") == local
    stats = json.loads((tmp_path / "ray" / "stats.json").read_text())
    assert stats["videos"] == 6


def test_pipeline_hands_the_runner_picklable_work(videos: Path, tmp_path: Path) -> None:
    """The work is the whole job for one item: a runner that pickles it (as a process pool or Ray must) and
    runs the copy gives the same records as the sequential run."""
    calls: list[int] = []

    def pickling_runner(work: Callable[[dict[str, str]], dict[str, Any]], items: list[dict[str, str]],
                        workers: int) -> Iterator[dict[str, Any]]:
        calls.append(workers)
        copy = pickle.loads(pickle.dumps(work))
        for item in items:
            yield copy(item)

    cfg = CurateConfig(steps=["probe", "signals", "shots"], detector="adaptive")
    curate(videos, tmp_path / "seq", cfg, progress=False)
    curate(videos, tmp_path / "pickled", cfg, runner=pickling_runner, workers=3, progress=False)
    assert calls == [3]
    seq = _sorted_lines(tmp_path / "seq")
    assert len(seq["kept.jsonl"]) + len(seq["rejected.jsonl"]) == 6
    assert _sorted_lines(tmp_path / "pickled") == seq


def test_local_runner_runs_any_work_in_order_without_a_pool() -> None:
    items = [{"id": f"v{k}", "path": f"/videos/v{k}.mp4"} for k in range(3)]
    assert list(run_local(partial(dict, done="yes"), items, workers=1)) == [{**x, "done": "yes"} for x in items]


@pytest.mark.integration
def test_local_pool_runs_any_work() -> None:
    """The pool needs no pipeline: any picklable work (here ``dict(item, done=...)``) comes back, once per item."""
    items = [{"id": f"v{k}", "path": f"/videos/v{k}.mp4"} for k in range(5)]
    got = list(run_local(partial(dict, done="yes"), items, workers=2))
    assert sorted(got, key=lambda r: r["id"]) == [{**x, "done": "yes"} for x in items]

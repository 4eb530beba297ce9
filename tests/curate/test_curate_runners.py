"""The process-pool and Ray Data runners give the same records as the sequential run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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

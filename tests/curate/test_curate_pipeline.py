"""End-to-end curation: presets, rejected reasons, broken files, resuming after SIGKILL, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tempoforge.cli import main
from tempoforge.config import ConfigError, load_config
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.pipeline import curate, list_inputs
from tempoforge.errors import UserError

REPO = Path(__file__).resolve().parents[2]
Factory = Callable[..., tuple[Path, list[float]]]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def folder(video_factory: Factory, tmp_path: Path) -> Path:
    video_factory("good.mp4", [("red", 24), ("green", 30), ("blue", 22), ("yellow", 28), ("purple", 26)], textured=True)
    video_factory("recurring.mp4", [("red", 24), ("green", 24), ("red", 24), ("blue", 24), ("yellow", 24)])
    video_factory("single.mp4", [("cyan", 60)])
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    return tmp_path / "videos"


def test_temple_preset_keeps_rejects_and_writes_keyframes(folder: Path, tmp_path: Path) -> None:
    cfg = load_config(CurateConfig, REPO / "configs" / "curate" / "temple.yaml", overrides={"detector": "adaptive"})
    out = tmp_path / "out"
    result = curate(folder, out, cfg, progress=False)
    assert (result.total, result.kept, result.rejected) == (4, 1, 3)
    kept = {r["id"]: r for r in _rows(out / "kept.jsonl")}
    rejected = {r["id"]: r for r in _rows(out / "rejected.jsonl")}
    good = kept["good.mp4"]
    # 5 distinct backgrounds -> 5 shots, 5 groups, 5 runs, 2 keyframes each
    assert [s["group"] for s in good["shots"]] == [0, 1, 2, 3, 4]
    assert len(good["runs"]) == 5 and len(good["keyframes"]) == 10
    for kf in good["keyframes"]:
        run = good["runs"][kf["run"]]
        assert run["start"] <= kf["time"] < run["end"]
        image = out / kf["image"]
        assert image.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    import cv2

    assert cv2.imread(str(out / good["keyframes"][0]["image"])).shape == (64, 96, 3)  # full resolution
    # red-green-red-blue-yellow: group 0 recurs in 2 of 5 runs (limit 5 // 3 = 1)
    assert (rejected["recurring.mp4"]["step"], rejected["recurring.mp4"]["code"]) == ("runs_filter", "runs")
    assert "recurs in 2 of 5 runs, but at most 1" in rejected["recurring.mp4"]["reason"]
    assert (rejected["single.mp4"]["step"], rejected["single.mp4"]["reason"]) == (
        "shot_count", "it has 1 shot after cleaning, but 4 to 32 are needed (min_shots, max_shots)")
    assert rejected["broken.mp4"]["reason"].startswith("the video cannot be used: ")
    assert (rejected["broken.mp4"]["step"], rejected["broken.mp4"]["code"]) == ("probe", "error")
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejected_by_reason"] == {"probe/error": 1, "runs_filter/runs": 1, "shot_count/shot_count": 1}
    assert stats["keyframes"] == 10 and stats["seconds_per_step"]["signals"]["videos"] == 3
    # a second run has nothing left to do and changes nothing
    before = (out / "kept.jsonl").read_bytes(), (out / "rejected.jsonl").read_bytes()
    again = curate(folder, out, cfg, progress=False)
    assert again.skipped == 4 and ((out / "kept.jsonl").read_bytes(), (out / "rejected.jsonl").read_bytes()) == before
    # resuming with another config would mix results: refused
    with pytest.raises(UserError, match="another config"):
        curate(folder, out, load_config(CurateConfig, overrides={"min_shots": 2}), progress=False)


def test_tempura_preset_static_filter_saa_and_grids(video_factory: Factory, tmp_path: Path) -> None:
    video_factory("still.mp4", [("grey", 50)], static=[True])
    video_factory("moving.mp4", [("red", 100), ("blue", 100)])  # 8 s at 25 fps
    cfg = load_config(CurateConfig, REPO / "configs" / "curate" / "tempura.yaml")
    out = tmp_path / "out"
    curate(tmp_path / "videos", out, cfg, progress=False)
    (still,) = _rows(out / "rejected.jsonl")
    assert (still["id"], still["step"], still["code"]) == ("still.mp4", "static", "static")
    assert still["reason"].startswith("too static: the picture changes by 0.0")
    (moving,) = _rows(out / "kept.jsonl")
    times = [f["time"] for f in moving["frames"]]
    assert len(times) == 32 and times == sorted(set(times))
    assert all(abs(t * 25 - round(t * 25)) < 1e-6 for t in times)  # true frame times on the 25 fps grid
    assert [(s["start"], s["end"]) for s in moving["shots"]] == [(0.0, 4.0), (4.0, 8.0)]
    assert moving["grids"] == ["grids/moving.mp4/grid000.jpg"]  # 8 frames at 1 fps fit one 16-tile grid
    assert (out / moving["grids"][0]).stat().st_size > 0


def test_resume_after_sigkill_equals_uninterrupted_run(video_factory: Factory, tmp_path: Path) -> None:
    names = ["red", "green", "blue", "yellow", "purple", "cyan"]
    for v in range(10):
        shots = [(names[(v + k) % 6], 22 + 3 * k) for k in range(5)]
        video_factory(f"v{v:02d}.mp4", shots)
    src = tmp_path / "videos"
    cmd = [sys.executable, "-m", "tempoforge.cli", "-q", "curate", "--in", str(src), "--config",
           str(REPO / "configs" / "curate" / "temple.yaml"), "--detector", "adaptive"]
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    assert subprocess.run([*cmd, "--out", str(ref)], capture_output=True, timeout=300).returncode == 0
    proc = subprocess.Popen([*cmd, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(_rows(killed / "kept.jsonl")) + len(_rows(killed / "rejected.jsonl")) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = len(_rows(killed / "kept.jsonl")) + len(_rows(killed / "rejected.jsonl"))
    assert 3 <= done_at_kill < 10  # really interrupted mid-way
    assert subprocess.run([*cmd, "--out", str(killed)], capture_output=True, timeout=300).returncode == 0
    for name in ("kept.jsonl", "rejected.jsonl"):
        a = sorted((ref / name).read_text().splitlines()) if (ref / name).exists() else []
        b = sorted((killed / name).read_text().splitlines()) if (killed / name).exists() else []
        assert a == b, name
    images = sorted(p.relative_to(ref).as_posix() for p in (ref / "keyframes").rglob("*.jpg"))
    assert images and images == sorted(p.relative_to(killed).as_posix() for p in (killed / "keyframes").rglob("*.jpg"))
    assert all((ref / p).read_bytes() == (killed / p).read_bytes() for p in images)


def test_shipped_presets_load_and_typos_fail() -> None:
    for name in ("temple", "tempura"):
        cfg = load_config(CurateConfig, REPO / "configs" / "curate" / f"{name}.yaml")
        assert cfg.steps[:2] == ["probe", "signals"]
    assert load_config(CurateConfig, REPO / "configs" / "curate" / "temple.yaml").detector == "transnetv2"
    with pytest.raises(ConfigError, match="min_shot"):
        load_config(CurateConfig, overrides={"min_shot": 3})
    with pytest.raises(ConfigError, match=r"also_detect: invalid choice: 'magic' \(choose from 'adaptive'"):
        load_config(CurateConfig, overrides={"also_detect": ["magic"]})
    assert load_config(CurateConfig, overrides={"transnet_device": "cuda:1"}).transnet_device == "cuda:1"
    with pytest.raises(ConfigError, match="transnet_device must be"):
        load_config(CurateConfig, overrides={"transnet_device": "gpu"})


def test_manifest_inputs(tmp_path: Path, video_factory: Factory) -> None:
    path, _ = video_factory("a.mp4", [("red", 10)])
    manifest = tmp_path / "list.jsonl"
    manifest.write_text(json.dumps({"path": "videos/a.mp4", "id": "clip-a"}) + "\n")
    assert list_inputs(manifest) == [{"id": "clip-a", "path": str(path.resolve())}]
    manifest.write_text('{"path": "videos/a.mp4"}\n{"path": "videos/a.mp4"}\n')
    with pytest.raises(UserError, match="duplicate video ids"):
        list_inputs(manifest)
    manifest.write_text('{"video": "a.mp4"}\n')
    with pytest.raises(UserError, match=r"list.jsonl:1: missing string field 'path'"):
        list_inputs(manifest)


def test_cli_runs_and_reports_bad_input(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["-q", "curate", "--in", str(folder), "--out", str(out), "--detector", "adaptive",
                 "--steps", "probe", "signals", "shots"]) == 0
    assert len(_rows(out / "kept.jsonl")) == 3 and len(_rows(out / "rejected.jsonl")) == 1
    with pytest.raises(SystemExit):  # argparse lists the steps
        main(["-q", "curate", "--in", str(folder), "--out", str(out), "--steps", "probe", "nope"])
    assert "argument --steps: invalid choice: 'nope' (choose from 'probe', 'signals'" in capsys.readouterr().err
    assert main(["-q", "curate", "--in", str(tmp_path / "missing"), "--out", str(out)]) == 2

"""The CLI as a user runs it: help texts, JSON output, one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tempoforge.io import write_video

CLI = [sys.executable, "-m", "tempoforge.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def _clip(tmp_path: Path) -> Path:
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(20)]
    return write_video(tmp_path / "clip.mp4", frames, 10)


def test_help_lists_commands():
    res = _run("--help")
    assert res.returncode == 0
    assert "video" in res.stdout and "demo" in res.stdout
    sub = _run("video", "sample", "--help")
    assert "--max-frames" in sub.stdout and "never dropped" in sub.stdout


def test_probe_prints_json(tmp_path):
    res = _run("video", "probe", str(_clip(tmp_path)))
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["num_frames"] == 20 and info["duration"] == 2.0 and info["width"] == 64


def test_sample_writes_frames_json_and_sheet(tmp_path):
    out = tmp_path / "out"
    res = _run("video", "sample", str(_clip(tmp_path)), "--fps", "4", "--sheet", "--overlay", "--out", str(out))
    assert res.returncode == 0, res.stderr
    meta = json.loads((out / "frames.json").read_text())
    # 2 s at 4 fps -> targets 0, .25, .5, ..., 1.75; at 10 fps .25 is a tie between .2 and .3 -> .2
    assert [round(f["time"], 3) for f in meta["frames"]] == [0.0, 0.2, 0.5, 0.7, 1.0, 1.2, 1.5, 1.7]
    assert (out / "sheet.png").stat().st_size > 0
    assert len(list(out.glob("frame_*.png"))) == 8


def test_bad_input_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("hello")
    res = _run("video", "probe", str(bad))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "not a video" in res.stderr and "Traceback" not in res.stderr
    dbg = _run("--debug", "video", "probe", str(bad))
    assert "Traceback" in dbg.stderr

"""``benchmarks/gpu_suite.sh``: stops with a clear message without CUDA; its dry run proves the wiring on CPU."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_suite.sh"


def _env() -> dict[str, str]:
    return {**os.environ, "PY": sys.executable, "PYTHONPATH": str(REPO / "src")}


def _suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_suite", REPO / "benchmarks" / "gpu_suite.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_without_cuda_it_stops_with_one_clear_line(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible")
    run = subprocess.run([str(SCRIPT), "--out", str(tmp_path / "suite")], capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("gpu_suite: no CUDA GPU visible to torch")
    assert not (tmp_path / "suite").exists()  # nothing half-written


def test_markdown_reports_the_dpo_ratio() -> None:
    suite = _suite()
    summary = {"started": "now", "dry_run": False, "budget_s": 470, "total_s": 300.0, "steps": [
        {"step": "init", "status": "ok", "seconds": 40.0, "result": {"frames": 64}},
        {"step": "dpo_ours", "status": "ok", "seconds": 50.0,
         "result": {"step_s": 1.5, "cuda_peak_mib": 30000.0, "tokens": {"sequence": 8300, "video": 8192}}},
        {"step": "dpo_trl", "status": "ok", "seconds": 60.0, "result": {"step_s": 3.0, "cuda_peak_mib": 41000.0}},
        {"step": "grpo", "status": "timeout after 150 s", "seconds": 150.0, "log_tail": "..."},
    ]}
    md = suite.markdown(summary)
    assert "| grpo | timeout after 150 s | 150.0 |" in md
    assert "| ratio ours / TRL | 0.50 | |" in md  # 1.5 / 3.0
    assert "| DPO step (1 pair, 64 frames, bf16, LoRA, checkpointing) | step s | peak MiB |" in md


@pytest.mark.integration
def test_dry_run_runs_every_step_and_writes_the_summaries(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    run = subprocess.run([str(SCRIPT), "--dry-run", "--out", str(out)], capture_output=True, text=True,
                         env=_env(), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((out / "summary.json").read_text())
    steps = {r["step"]: r for r in summary["steps"]}
    assert list(steps) == ["env", "init", "dpo_ours", "dpo_trl", "grpo", "transnet", "decode"]
    assert all(r["status"] == "ok" for r in steps.values()), steps
    ours, trl = steps["dpo_ours"]["result"], steps["dpo_trl"]["result"]
    # both trainers start from a fresh LoRA: the first DPO loss is -log sigmoid(0) = log 2
    assert abs(ours["losses"][0] - math.log(2)) < 1e-3 and abs(trl["losses"][0] - math.log(2)) < 1e-3
    assert ours["tokens"] == trl["tokens"] and ours["tokens"]["video"] > 0  # the same video inputs
    assert steps["decode"]["result"]["tempoforge_times_ok"] is True
    assert steps["transnet"]["result"]["cpu_frames_per_s"] > 0
    assert "| ratio ours / TRL |" in (out / "summary.md").read_text()

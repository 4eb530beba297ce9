"""``tempoforge study temple`` machinery on the seconds-long smoke preset (wiring, schema, resume, controls)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tempoforge.errors import UserError
from tempoforge.study.core import run_study
from tempoforge.study.temple import PRESETS, TempleStudy

SCHEMA_KEYS = ["method", "preset", "seeds", "target", "base_arm", "method_arm", "arms", "intervals"]


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("temple_study")
    res = run_study(TempleStudy(PRESETS["smoke"]), out, [0], arms=["progressive", "dpo-flipped"], quiet=True)
    return out, res.summary


def test_study_json_has_exactly_the_schema(smoke_study: tuple[Path, dict]) -> None:
    out, summary = smoke_study
    on_disk = json.loads((out / "study.json").read_text())
    assert on_disk == summary and list(on_disk) == SCHEMA_KEYS
    assert on_disk["method"] == "temple" and on_disk["preset"] == "smoke" and on_disk["seeds"] == [0]
    assert on_disk["base_arm"] == "base" and on_disk["method_arm"] == "progressive"
    assert on_disk["target"] == "order_preference"
    assert set(on_disk["arms"]) == {"base", "progressive", "dpo-flipped"} == set(on_disk["intervals"])
    for arm, metrics in on_disk["arms"].items():
        for m, vals in metrics.items():
            assert len(vals) == 1 and 0.0 <= vals[0] <= 1.0, (arm, m, vals)
            lo, hi = on_disk["intervals"][arm][m]
            assert lo <= vals[0] <= hi
    assert (out / "study.html").read_text().count("<table>") >= 3


def test_the_blank_probe_is_exactly_chance(smoke_study: tuple[Path, dict]) -> None:
    # grey frames make a video and its twin the same input: one pair of each group is won, one lost
    _, summary = smoke_study
    for arm, metrics in summary["arms"].items():
        assert metrics["order_preference_blank"] == [0.5], arm


def test_each_trained_arm_saved_its_curves_and_model(smoke_study: tuple[Path, dict]) -> None:
    out, _ = smoke_study
    details = json.loads((out / "details.json").read_text())
    prog = details["runs"]["progressive"][0]
    assert list(prog["curves"]) == ["dpo_r16", "dpo_r8", "dpo_r4", "dpo_r2", "sft"]
    assert all(c["loss"] for c in prog["curves"].values())
    assert (out / prog["model"]).is_dir() and prog["model"].endswith("sft")  # relative to the study folder
    assert set(details["difference_to_base"]) == {"progressive", "dpo-flipped"}


def test_rerun_resumes_without_training_and_other_settings_are_refused(smoke_study: tuple[Path, dict]) -> None:
    out, summary = smoke_study
    result = out / "seed0" / "arms" / "progressive" / "result.json"
    before = result.stat().st_mtime_ns
    again = run_study(TempleStudy(PRESETS["smoke"]), out, [0], arms=["progressive", "dpo-flipped"], quiet=True)
    assert again.summary == summary and result.stat().st_mtime_ns == before
    other = replace(PRESETS["smoke"], lr=0.5)
    with pytest.raises(UserError, match=r"other settings.*lr"):
        run_study(TempleStudy(other), out, [0], arms=["progressive"], quiet=True)
    with pytest.raises(UserError, match="unknown arm"):
        run_study(TempleStudy(PRESETS["smoke"]), out, [0], arms=["nope"], quiet=True)


def test_cli_help_lists_methods_and_presets() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    r = subprocess.run([sys.executable, "-m", "tempoforge.cli", "study", "--help"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0
    assert "temple" in r.stdout and "quick" in r.stdout and "study.json" in r.stdout
    bad = subprocess.run([sys.executable, "-m", "tempoforge.cli", "study", "nomethod", "--out", "x"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_a_study_in_a_relative_folder_finds_its_videos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo runs the study in ``tempoforge-demo/temple``: every video path a stage writes must resolve from the
    file that names it, not from the working directory (the SFT stage once read ``temple/tempoforge-demo/...``)."""
    import json as _json

    monkeypatch.chdir(tmp_path)
    res = run_study(TempleStudy(PRESETS["smoke"]), Path("rel/study"), [0], arms=["sft-only"], quiet=True)
    assert "sft-only" in res.summary["arms"]
    sft = tmp_path / "rel" / "study" / "seed0" / "sft.jsonl"
    rows = [_json.loads(line) for line in sft.read_text().splitlines()]
    assert rows and all((sft.parent / r["video"]).is_file() for r in rows)


def test_every_arm_makes_the_same_steps_with_dpo_and_sft_at_their_own_rates(tmp_path: Path) -> None:
    from tempoforge.study.temple import ARMS, STAGES, Prepared, arm_config

    p = replace(PRESETS["quick"], stage_steps=7, sft_steps=3, lr=2e-3, dpo_lr=5e-4)
    prepared = Prepared(0, tmp_path, tmp_path, "base", tmp_path / "pairs.jsonl", tmp_path / "sft.jsonl")
    for arm in ARMS[1:]:
        cfg = arm_config(arm, p, prepared, prepared.pairs, tmp_path / arm)
        dpo_stages = 0 if arm == "sft-only" else (1 if cfg.schedule == "single" else len(cfg.stages))
        total = dpo_stages * cfg.dpo.optim.max_steps + cfg.sft.optim.max_steps
        assert total == len(STAGES) * 7 + 3, arm
        assert (cfg.dpo.optim.learning_rate, cfg.sft.optim.learning_rate) == (5e-4, 2e-3), arm
        assert cfg.dpo.optim.batch_size == cfg.sft.optim.batch_size == p.batch, arm


def test_several_seeds_in_worker_processes_give_the_same_numbers_as_one_process(tmp_path: Path) -> None:
    """``workers > 1`` with several seeds prepares seeds and trains arms in one-thread processes, interleaved;
    the scores must be those of the plain seed-by-seed run in this process."""
    arms = ["progressive"]
    pooled = run_study(TempleStudy(PRESETS["smoke"]), tmp_path / "pooled", [0, 1], arms=arms, quiet=True, workers=2)
    serial = run_study(TempleStudy(PRESETS["smoke"]), tmp_path / "serial", [0, 1], arms=arms, quiet=True, workers=1)
    assert pooled.summary == serial.summary
    for seed in (0, 1):
        for arm in ("base", "progressive"):
            a = json.loads((tmp_path / "pooled" / f"seed{seed}" / "arms" / arm / "result.json").read_text())
            b = json.loads((tmp_path / "serial" / f"seed{seed}" / "arms" / arm / "result.json").read_text())
            assert a["scores"] == b["scores"] and a["curves"] == b["curves"], (seed, arm)
    assert set(json.loads((tmp_path / "pooled" / "details.json").read_text())["runs"]) == {"base", "progressive"}

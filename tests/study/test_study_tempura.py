"""``tempoforge study tempura`` machinery on the smoke preset: data, matched steps, schema, per-video scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempoforge.io.jsonl import read_jsonl
from tempoforge.study.core import run_study
from tempoforge.study.temple import PRESETS as TEMPLE_PRESETS
from tempoforge.study.temple import TempleStudy
from tempoforge.study.tempura import PRESETS, TempuraStudy, dense_scores
from tempoforge.synth.tempura_samples import TempuraSample


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    temple = tmp_path_factory.mktemp("temple_for_tempura")  # the starting model, as --base-from reuses it
    run_study(TempleStudy(TEMPLE_PRESETS["smoke"]), temple, [0], arms=["base"], quiet=True)
    out = tmp_path_factory.mktemp("tempura_study")
    res = run_study(TempuraStudy(PRESETS["smoke"], base_from=temple), out, [0], arms=["s1-s2", "s2-only", "s1random-s2"],
                    quiet=True)
    return out, res.summary


def test_dense_scores_by_hand() -> None:
    refs = {"a": [(0.0, 4.0, "x"), (4.0, 10.0, "y")], "b": [(0.0, 10.0, "z")]}
    # a: one window matching the first event exactly (tIoU 1) and one at tIoU 2/8 with the second:
    #    P = (1 + 1 + 1 + 1) / 4 / 2 -> per tIoU [1/2] * 4 (the second hits none of 0.3..0.9), R the same
    # b: no answer -> P = R = 0
    answers = {"a": "From 0.0 to 4.0, x.\nFrom 8.0 to 16.0, y.", "b": "nothing"}
    res = dense_scores(answers, refs)
    assert res["f1"]["a"] == pytest.approx(0.5)
    assert res["f1"]["b"] == 0.0
    # corpus: mean P = 0.25, mean R = 0.25 -> F1 0.25 (not the mean of per-video F1s, which is also 0.25 here)
    assert res["corpus_f1"] == pytest.approx(0.25)


def test_schema_and_metrics(smoke: tuple[Path, dict]) -> None:
    out, summary = smoke
    assert list(json.loads((out / "study.json").read_text())) == ["method", "preset", "seeds", "target", "base_arm",
                                                                   "method_arm", "arms", "intervals"]
    assert (summary["method"], summary["base_arm"], summary["method_arm"], summary["target"]) == (
        "tempura", "base", "s1-s2", "dense_f1")
    assert set(summary["arms"]) == {"base", "s1-s2", "s2-only", "s1random-s2"}
    for metrics in summary["arms"].values():
        assert set(metrics) == {"dense_f1", "dense_f1_blank", "soda_c", "soda_c_blank", "grounding_miou", "grounding_miou_blank"}
        assert all(0.0 <= v[0] <= 1.0 for v in metrics.values())


def test_every_arm_makes_the_same_number_of_steps(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    runs = json.loads((out / "details.json").read_text())["runs"]
    p = PRESETS["smoke"]
    for arm in ("s1-s2", "s2-only", "s1random-s2"):
        curves = runs[arm][0]["curves"]
        assert sum(len(c["loss"]) for c in curves.values()) == p.s1_steps + p.s2_steps, arm
        assert (out / runs[arm][0]["model"]).is_dir()
    assert list(runs["s2-only"][0]["curves"]) == ["stage1_dense"]
    assert list(runs["s1-s2"][0]["curves"]) == ["stage1_masked", "stage2_dense"]


def test_the_random_mask_control_moves_masks_off_event_boundaries(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    ver = out / "seed0" / "ver"
    real = {s.id: s for s in read_jsonl(ver / "samples.jsonl", TempuraSample) if s.task == "masked"}
    rand = [s for s in read_jsonl(ver / "samples_random_masks.jsonl", TempuraSample) if s.task == "masked"]
    assert real and len(rand) == len(real)
    moved = 0
    for s in rand:
        orig = real[s.id.removesuffix("_random")]
        assert s.mask is not None and orig.mask is not None
        assert s.mask.end - s.mask.start == pytest.approx(orig.mask.end - orig.mask.start, abs=0.11)
        assert s.mask.start >= 0.0 and s.mask.end <= s.duration + 1e-6
        assert f"from {s.mask.start:.1f} to {s.mask.end:.1f}" in s.prompt
        moved += (s.mask.start, s.mask.end) != (orig.mask.start, orig.mask.end)
        # the target names the event under most of the new mask
        overlap = [max(0.0, min(s.mask.end, e.span.end) - max(s.mask.start, e.span.start)) for e in s.events]
        assert s.answer.removesuffix("</answer>").endswith(s.events[overlap.index(max(overlap))].caption)
    assert moved >= len(rand) // 2
    dense_real = sorted(s.id for s in read_jsonl(ver / "samples.jsonl", TempuraSample) if s.task == "dense")
    dense_rand = sorted(s.id for s in read_jsonl(ver / "samples_random_masks.jsonl", TempuraSample) if s.task == "dense")
    assert dense_real == dense_rand


def test_stage_one_data_comes_from_videos_the_base_never_saw(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    n = TEMPLE_PRESETS["smoke"].base_videos
    ids = {s.id.split("/")[0] for s in read_jsonl(out / "seed0" / "ver" / "samples.jsonl", TempuraSample)}
    assert ids and all(int(i.lstrip("tw")) >= n for i in ids)


def test_rerun_resumes_without_training(smoke: tuple[Path, dict]) -> None:
    out, summary = smoke
    result = out / "seed0" / "arms" / "s1-s2" / "result.json"
    stamp = result.stat().st_mtime_ns
    seconds = json.loads((out / "details.json").read_text())["seconds"]
    temple = out.parent / "temple_for_tempura0"
    res = run_study(TempuraStudy(PRESETS["smoke"], base_from=temple), out, [0], arms=["s1-s2", "s2-only", "s1random-s2"],
                    quiet=True)
    assert result.stat().st_mtime_ns == stamp
    assert res.summary == summary
    # the study's time counts every invocation, not only the instant resumed one
    assert res.details["seconds"] >= seconds > 0


def test_details_give_the_method_arm_minus_every_other_arm(smoke: tuple[Path, dict]) -> None:
    out, summary = smoke
    versus = json.loads((out / "details.json").read_text())["method_minus_arm"]
    assert set(versus) == {"s2-only", "s1random-s2"}  # neither the method arm itself nor the starting model
    for arm, metrics in versus.items():
        d, lo, hi = metrics["dense_f1"]
        expected = summary["arms"]["s1-s2"]["dense_f1"][0] - summary["arms"][arm]["dense_f1"][0]
        assert d == pytest.approx(expected, abs=2e-6)
        assert lo <= d + 1e-9 and d <= hi + 1e-9
    page = (out / "study.html").read_text()
    assert "s1-s2 minus each arm" in page
    d = versus["s2-only"]["dense_f1"]
    assert f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]" in page

"""``tempoforge study d2vlm`` machinery on the smoke preset: schema, arms, pairs by factor kind, resume."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from tempoforge.errors import UserError
from tempoforge.io.jsonl import read_jsonl
from tempoforge.records import Prediction, PreferencePair
from tempoforge.study.core import run_study
from tempoforge.study.d2vlm import ARMS, METRICS, PRESETS, D2VLMStudy, answer_correct, evidence_scores
from tempoforge.synth.factorized import GROUNDING_FACTORS, TEXT_FACTORS
from tempoforge.train.recipes.d2vlm import GROUNDING_PROMPT

TRAINED = [a for a in ARMS if a != "sft"]


def test_answer_accuracy_and_evidence_scores_by_hand() -> None:
    q = "the orange triangle turns yellow"
    assert answer_correct("0.0 - 2.0 the orange triangle turns yellow.", q)
    assert not answer_correct("0.0 - 2.0 the orange triangle turns green.", q)  # tampered key word
    assert not answer_correct("0.0 - 2.0 the orange triangle turns yellow. 0.0 - 2.0 the orange triangle turns "
                              "yellow.", q)  # repeated
    pred = Prediction(id="tw00000_q0", benchmark="tempoworld", answer="", gt=[[0.0, 2.0]], query=q)
    for spans, want in (([[0.0, 2.0]], (1.0, 1.0)), ([[0.0, 4.0], [0.0, 2.0]], (0.75, 0.5)), ([], (0.0, 0.0))):
        # IoU 0.5 passes t = 0.1, 0.3, 0.5 but not 0.7; only the first evidence span counts (TVG); none = 0
        f1, iou = evidence_scores(pred.model_copy(update={"meta": {"evidence_spans": spans}}))
        assert (f1, iou) == pytest.approx(want)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("d2vlm_study")
    res = run_study(D2VLMStudy(PRESETS["smoke"]), out, [0], quiet=True)
    return out, res.summary


def test_schema_and_metrics(smoke: tuple[Path, dict]) -> None:
    out, summary = smoke
    assert list(json.loads((out / "study.json").read_text())) == ["method", "preset", "seeds", "target", "base_arm",
                                                                   "method_arm", "arms", "intervals"]
    assert (summary["method"], summary["base_arm"], summary["method_arm"]) == ("d2vlm", "sft", "fpo")
    assert summary["target"] == "grounding_f1"
    assert set(summary["arms"]) == set(ARMS) == set(summary["intervals"])
    for arm in ARMS:
        assert set(summary["arms"][arm]) == set(METRICS) == set(summary["intervals"][arm])
        assert all(0.0 <= v <= 1.0 for vals in summary["arms"][arm].values() for v in vals)
        assert all(0.0 <= v <= 1.0 for vals in summary["intervals"][arm].values() for v in vals)
    assert (out / "study.html").is_file()


def test_items_are_the_capped_held_out_queries_by_twin_group(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    details = json.loads((out / "details.json").read_text())
    assert details["items_per_seed"] == {m: PRESETS["smoke"].eval_queries for m in METRICS}
    result = json.loads((out / "seed0" / "arms" / "fpo" / "result.json").read_text())
    videos = {json.loads(line)["id"].rsplit("_", 1)[0]
              for line in (out / "seed0" / "arms" / "fpo" / "eval" / "predictions_grounding.jsonl").open()}
    # a group is the original of a twin pair: an even video index (mirror_pairs: every odd video is a twin)
    assert set(result["scores"]["grounding_f1"]) <= {f"tw{int(v[2:]) // 2 * 2:05d}" for v in videos}


def test_every_trained_arm_saved_a_model_and_loss_curves(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    runs = json.loads((out / "details.json").read_text())["runs"]
    for arm in TRAINED:
        run = runs[arm][0]
        assert (out / run["model"] / "evidence_config.json").is_file(), arm
        stage = "sft" if arm == "sft-more" else "fpo"
        assert len(run["curves"][stage]["loss"]) == PRESETS["smoke"].steps, arm
        if stage == "fpo":
            assert len(run["curves"]["fpo"]["margin"]) == PRESETS["smoke"].steps, arm


def test_arms_make_the_same_steps_at_the_same_batch(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    p = PRESETS["smoke"]
    for arm in TRAINED:
        record = json.loads((out / "seed0" / "arms" / arm / "train_record.json").read_text())
        optim = record["settings"]["optim"]
        assert (optim["max_steps"], optim["batch_size"], optim["learning_rate"]) == (p.steps, p.batch, p.lr), arm
        assert len(record["losses"]) == p.steps, arm


def _pairs(out: Path, arm: str) -> list[PreferencePair]:
    return list(read_jsonl(out / "seed0" / "arms" / arm / "pairs.jsonl", PreferencePair))


def test_ablation_arms_train_on_pairs_of_one_kind(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    temporal, textual, both = _pairs(out, "fpo-temporal"), _pairs(out, "fpo-textual"), _pairs(out, "fpo")
    assert temporal and textual
    assert {q.meta["factor_kind"] for q in temporal} == {"grounding"}
    assert {q.factor for q in temporal} <= set(GROUNDING_FACTORS)
    assert {q.meta["factor_kind"] for q in textual} == {"text"}
    assert {q.factor for q in textual} <= set(TEXT_FACTORS)
    assert sorted(q.id for q in both) == sorted(q.id for q in temporal + textual)
    assert [q.id for q in _pairs(out, "dpo")] == [q.id for q in both]  # DPO: the same pairs
    # pairs of the dense captions (synth fpo) and of the grounding queries, all on fresh training videos
    grounding_prompts = [q for q in both if q.prompt.startswith(GROUNDING_PROMPT.split("{")[0])]
    assert grounding_prompts and len(grounding_prompts) < len(both)
    fresh = PRESETS["smoke"].base.base_videos
    assert all(int(Path(q.video).stem[2:]) >= fresh for q in both)


def test_dpo_is_the_non_factorized_preference(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    settings = {a: json.loads((out / "seed0" / "arms" / a / "train_record.json").read_text())["settings"]
                for a in ("fpo", "dpo", "fpo-temporal", "fpo-textual")}
    assert settings["dpo"]["factorized"] is False
    assert all(settings[a]["factorized"] is True for a in ("fpo", "fpo-temporal", "fpo-textual"))


def test_rerun_resumes_without_training(smoke: tuple[Path, dict]) -> None:
    out, summary = smoke
    results = {a: out / "seed0" / "arms" / a / "result.json" for a in ARMS}
    before = {a: os.stat(p).st_mtime_ns for a, p in results.items()}
    res = run_study(D2VLMStudy(PRESETS["smoke"]), out, [0], quiet=True)
    assert {a: os.stat(p).st_mtime_ns for a, p in results.items()} == before
    assert res.summary == summary


def test_base_from_reuses_a_temple_studys_worlds_and_model(smoke: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = smoke
    base = PRESETS["smoke"].base
    temple = tmp_path / "temple"
    (temple / "seed0").mkdir(parents=True)
    settings = {k: v for k, v in asdict(base).items() if k != "seeds"}
    (temple / "config.json").write_text(json.dumps({"method": "temple", "preset": "smoke", "settings": settings}))
    for name in ("world", "base"):  # the layout of a TEMPLE study folder (its seed's worlds and starting model)
        (temple / "seed0" / name).symlink_to((out / "seed0" / name).resolve(), target_is_directory=True)
    run_study(D2VLMStudy(PRESETS["smoke"], base_from=temple), tmp_path / "d2", [0], arms=["sft"], quiet=True)
    for name in ("world", "base"):
        assert (tmp_path / "d2" / "seed0" / name).resolve() == (out / "seed0" / name).resolve()
    assert (tmp_path / "d2" / "seed0" / "arms" / "sft" / "result.json").is_file()
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"method": "temple", "preset": "quick", "settings": {"base_steps": 1}}')
    with pytest.raises(UserError, match="other settings"):
        run_study(D2VLMStudy(PRESETS["smoke"], base_from=other), tmp_path / "d3", [0], arms=["sft"], quiet=True)

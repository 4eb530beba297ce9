"""``tempoforge study tempo-r0`` machinery on the smoke preset: schema, GRPO curves, refusal metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempoforge.errors import UserError
from tempoforge.study.core import run_study
from tempoforge.study.temple import PRESETS as TEMPLE_PRESETS
from tempoforge.study.temple import TempleStudy
from tempoforge.study.tempo_r0 import PRESETS, TempoR0Study, format_items, r1_answer
from tempoforge.train.recipes.tempo_r0 import REFUSAL_ANSWER


def test_format_targets_by_hand() -> None:
    from tempoforge.records import Span

    assert r1_answer([Span.of(1.5, 4.0)], True).endswith("<answer>From 1.5 to 4.0 seconds.</answer>")
    assert r1_answer([], False).endswith(f"<answer>{REFUSAL_ANSWER}</answer>")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    # the starting model comes from a TEMPLE study folder (--base-from): only its base arm is run there
    temple = tmp_path_factory.mktemp("temple_for_r0")
    run_study(TempleStudy(TEMPLE_PRESETS["smoke"]), temple, [0], arms=["base"], quiet=True)
    out = tmp_path_factory.mktemp("tempo_r0_study")
    res = run_study(TempoR0Study(PRESETS["smoke"], base_from=temple), out, [0], arms=["pir-grpo"], quiet=True)
    return out, res.summary


def test_base_from_links_the_temple_studys_worlds_and_model(smoke: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = smoke
    for name in ("world", "base"):
        assert (out / "seed0" / name).is_symlink()
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"method": "temple", "preset": "quick", "settings": {"base_steps": 1}}')
    with pytest.raises(UserError, match="other settings"):
        run_study(TempoR0Study(PRESETS["smoke"], base_from=other), tmp_path / "r0", [0], arms=["sft"], quiet=True)


def test_schema_and_metrics(smoke: tuple[Path, dict]) -> None:
    out, summary = smoke
    assert list(json.loads((out / "study.json").read_text())) == ["method", "preset", "seeds", "target", "base_arm",
                                                                   "method_arm", "arms", "intervals"]
    assert summary["base_arm"] == "sft" and summary["method_arm"] == "pir-grpo" and summary["target"] == "r1_at_0.5"
    assert set(summary["arms"]) == {"sft", "pir-grpo"}
    for metrics in summary["arms"].values():
        assert set(metrics) == {"r1_at_0.5", "r1_at_0.7", "miou", "refusal_accuracy", "false_refusal_rate",
                                "r1_at_0.5_blank", "refusal_accuracy_blank"}
        assert all(0.0 <= v[0] <= 1.0 for v in metrics.values())


def test_grpo_curves_log_variance_refusals_and_kl(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    curves = json.loads((out / "details.json").read_text())["runs"]["pir-grpo"][0]["curves"]["grpo"]
    for key in ("loss", "reward", "frac_reward_zero_std", "refusal_share", "kl"):
        assert len(curves[key]) == PRESETS["smoke"].steps, key
    assert all(0.0 <= x <= 1.0 for x in curves["frac_reward_zero_std"] + curves["refusal_share"])


def test_format_items_mix_in_the_requested_share_of_refusals(smoke: tuple[Path, dict]) -> None:
    out, _ = smoke
    ann = out / "seed0" / "world" / "train" / "annotations"
    items = format_items(ann, lambda v: True, 0.25, seed=0)
    refusals = sum(REFUSAL_ANSWER in i.answer for i in items)
    relevant = len(items) - refusals
    # share 0.25 of the items: round(0.25 * relevant / 0.75) refusals, capped by what the world has
    assert refusals == min(round(relevant / 3), len((ann / "refusal.jsonl").read_text().splitlines()))

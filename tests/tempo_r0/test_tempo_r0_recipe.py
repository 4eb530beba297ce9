"""``tempoforge train tempo-r0``: presets, prompt text, CLI help, and an end-to-end run on TempoWorld."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tempoforge.config import load_config
from tempoforge.eval.parsing import parse_spans
from tempoforge.train.recipes.tempo_r0 import (
    REFUSAL_ANSWER,
    TempoR0Config,
    run_tempo_r0,
    tempo_r0_prompt,
)

REPO = Path(__file__).resolve().parents[2]
PRESETS = sorted((REPO / "configs" / "train").glob("tempo_r0_*.yaml"))


def test_presets_load():
    assert {p.name for p in PRESETS} == {"tempo_r0_tiny.yaml", "tempo_r0_qwen25vl_7b.yaml"}
    for path in PRESETS:
        cfg = load_config(TempoR0Config, path)
        s = cfg.settings()
        assert s.num_generations == 8 and s.temperature == 1.0, "Tempo-R0: group size 8, temperature 1.0"
        assert not s.lora.train_vision and s.video.selection == "saa" and s.video.strategy == "text"
        assert cfg.irrelevant_ratio == 0.1


def test_cli_overrides_frame_selection_and_timestamps():
    cfg = load_config(TempoR0Config, PRESETS[-1], argparse.Namespace(selection="uniform", timestamps="mrope"))
    assert (cfg.settings().video.selection, cfg.settings().video.strategy) == ("uniform", "mrope")


def test_prompt_snapshot_and_answers_parse():
    assert tempo_r0_prompt("the red circle appears", 12.0) == (
        'The video lasts 12.0 seconds. Give the start and end time of the moment described by the query, in '
        'seconds. Query: "the red circle appears". Answer in the format "From X to Y seconds." First think '
        'about the query and the video inside <think> </think>, then give the answer inside <answer> </answer>: '
        '"From X to Y seconds.", or "The event does not appear in the video." if nothing in the video matches '
        'the query.')
    assert parse_spans(f"<think>x</think><answer>{REFUSAL_ANSWER}</answer>").status == "refusal"


def test_cli_help_explains_itself():
    from tempoforge.train import commands

    parser = argparse.ArgumentParser(prog="tempoforge")
    commands.register(parser.add_subparsers())
    help_text = parser._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0] \
        .choices["tempo-r0"].format_help()
    for flag in ("--config", "--data", "--irrelevant-ratio", "--selection", "--timestamps"):
        assert flag in help_text
    assert "PIR-GRPO" in help_text


def test_end_to_end_on_tempoworld(tiny_world: Path, tmp_path: Path):
    from tempoforge.models.load import load

    overrides = {
        "model": "tiny:qwen2_5_vl", "data": str(tiny_world / "annotations" / "grounding.jsonl"),
        "out": str(tmp_path / "run"), "irrelevant_ratio": 0.25,
        "grpo": {"num_generations": 2, "max_new_tokens": 4, "beta": 0.04,
                 "optim": {"learning_rate": 1e-3, "max_steps": 2, "batch_size": 2},
                 "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
                 "video": {"fps": 1.0, "max_frames": 4, "strategy": "text", "selection": "saa"}},
    }
    cfg = load_config(TempoR0Config, overrides=overrides)
    result = run_tempo_r0(cfg)
    assert len(result["reward"]) == 2 and set(result["reward_parts"]) == {"format", "refusal"}
    assert result["irrelevant"] > 0 and result["selection"] == "saa"
    done = json.loads((tmp_path / "run" / "final" / "tempoforge_stage_done.json").read_text())
    assert done["timestamps"] == "text"
    lm = load(tmp_path / "run" / "final")  # the merged model reloads in the stock layout
    assert lm.family.model_type == "qwen2_5_vl"
    assert run_tempo_r0(cfg)["skipped"] is True
    with pytest.raises(Exception, match="not found"):
        run_tempo_r0(load_config(TempoR0Config, overrides={**overrides, "data": str(tmp_path / "nope.jsonl"),
                                                           "out": str(tmp_path / "other")}))

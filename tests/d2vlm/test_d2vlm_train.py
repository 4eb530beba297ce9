"""D2VLM training: evidence SFT and FPO learn with the video in the loss forward; synth and recipe CLIs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tempoforge.config import load_config
from tempoforge.models.evidence import EvidenceModel, EvidenceSettings
from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.records import PreferencePair, Span
from tempoforge.synth.factorized import EvidenceEvent, render_response
from tempoforge.train.base import OptimSettings, VisionProbe
from tempoforge.train.fpo import EvidenceItem, EvidenceTrainSettings, run_evidence_sft, run_fpo
from tempoforge.train.lora import LoraSettings
from tempoforge.train.recipes.d2vlm import D2VLMConfig
from testkit import square_clip

PROMPT = "When is the red square visible?"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, float, float]]:
    """Four 8 s clips at 1 fps (56x56); in clip k a red square is visible over [2k, 2k + 2) (one group)."""
    root = tmp_path_factory.mktemp("evi_clips")
    spans = [(2.0 * k, 2.0 * k + 2) for k in range(4)]
    return [(square_clip(root / f"c{k}.mp4", s, e), s, e) for k, (s, e) in enumerate(spans)]


def _resp(span: Span) -> str:
    return render_response([EvidenceEvent(span, "the red square is visible")], "d2vlm")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _settings(lr: float, steps: int, lora: LoraSettings) -> EvidenceTrainSettings:
    return EvidenceTrainSettings(optim=OptimSettings(learning_rate=lr, max_steps=steps, batch_size=2,
                                                     warmup_ratio=0.0),
                                 lora=lora, video=VideoSettings(fps=1, max_frames=8))


def test_evidence_sft_learns_and_sees_the_video(clips, tmp_path):
    elm = EvidenceModel(build_tiny("qwen2_5_vl"), EvidenceSettings(inject_layer=1))
    items = [EvidenceItem(f"i{k}", v, PROMPT, _resp(Span.of(s, e)), (Span.of(s, e),))
             for k, (v, s, e) in enumerate(clips)]
    with VisionProbe(elm.model) as probe:
        res = run_evidence_sft(elm, items, _settings(3e-3, 12, LoraSettings(enabled=False, train_vision=True)),
                               tmp_path / "sft")
    assert len(res.losses) == 12
    assert _mean(res.losses[-3:]) < 0.8 * _mean(res.losses[:3])
    assert _mean(res.history["gnd"][-3:]) < _mean(res.history["gnd"][:3])
    assert probe.calls >= 12 and probe.rows > 0, "video tensors must reach the loss forward"
    record = json.loads((tmp_path / "sft" / "tempoforge_train.json").read_text())
    assert record["stage"] == "d2vlm-sft" and len(record["history"]["cons"]) == 12


def test_fpo_learns_the_preference_with_lora(clips, tmp_path):
    lm = build_tiny("qwen2_5_vl", out_dir=tmp_path / "base")
    elm = EvidenceModel(lm, EvidenceSettings(inject_layer=1))
    pairs = []
    for k, (v, s, e) in enumerate(clips):  # rejected: the span shifted by 4 s (a grounding negative)
        bad = Span.of((s + 4) % 8, (s + 4) % 8 + 2)
        pairs.append(PreferencePair(id=f"p{k}", video=v, prompt=PROMPT, chosen=_resp(Span.of(s, e)),
                                    rejected=_resp(bad), factor="shift", chosen_spans=[Span.of(s, e)],
                                    rejected_spans=[bad]))
    with VisionProbe(elm.model) as probe:
        res = run_fpo(elm, pairs, _settings(5e-3, 10, LoraSettings(r=8, alpha=16, dropout=0.0)), tmp_path / "fpo")
    assert hasattr(elm.model, "peft_config")
    assert _mean(res.history["fpo"][-3:]) < _mean(res.history["fpo"][:3])
    assert _mean(res.history["margin"][-3:]) > _mean(res.history["margin"][:3])
    assert probe.calls >= 10, "video tensors must reach the loss forward"
    with pytest.raises(ValueError, match="chosen_spans"):
        run_fpo(elm, [pairs[0].model_copy(update={"rejected_spans": []})], _settings(1e-3, 1, LoraSettings()),
                tmp_path / "bad")


def test_plain_dpo_ignores_the_grounding_term(clips, tmp_path):
    """``factorized: false`` (plain DPO): a shift negative has the chosen text, so without injection its tokens
    score exactly as the chosen ones and the margin is 0; FPO's grounding term of the own spans separates them."""
    margins = {}
    for factorized in (False, True):
        elm = EvidenceModel(build_tiny("qwen2_5_vl"), EvidenceSettings(inject_layer=1, inject=False))
        pairs = []
        for k, (v, s, e) in enumerate(clips[:2]):
            bad = Span.of((s + 4) % 8, (s + 4) % 8 + 2)
            pairs.append(PreferencePair(id=f"p{k}", video=v, prompt=PROMPT, chosen=_resp(Span.of(s, e)),
                                        rejected=_resp(bad), factor="shift", chosen_spans=[Span.of(s, e)],
                                        rejected_spans=[bad]))
        settings = _settings(1e-3, 2, LoraSettings(enabled=False, train_vision=True))
        settings.factorized = factorized
        margins[factorized] = run_fpo(elm, pairs, settings, tmp_path / str(factorized)).history["margin"]
    assert len(margins[False]) == 2 and all(abs(m) < 1e-6 for m in margins[False]), margins
    assert all(abs(m) > 1e-4 for m in margins[True]), margins


def test_synth_fpo_cli_writes_and_resumes(tmp_path, capsys):
    from tempoforge.synth import fpo as synth_fpo
    from tempoforge.world import generate_world, preset_config

    generate_world(tmp_path / "tw", videos=3, seed=0, config=preset_config("tiny"))
    parser = argparse.ArgumentParser()
    synth_fpo.add_arguments(parser)
    out = tmp_path / "pairs.jsonl"
    args = parser.parse_args(["--in", str(tmp_path / "tw" / "annotations" / "dense.jsonl"), "--out", str(out),
                              "--factors", "shift", "tamper"])
    args.quiet = True
    assert synth_fpo.main(args) == 0
    from tempoforge.io.jsonl import read_jsonl

    pairs = list(read_jsonl(out, PreferencePair))
    assert {p.factor for p in pairs} <= {"shift", "tamper"} and len(pairs) >= 3
    for p in pairs:
        assert Path(p.video).is_absolute() and Path(p.video).is_file()
        assert p.chosen.count("<evi>") == 2 * len(p.chosen_spans)
        assert p.rejected.split("</evi>")[0].count("<evi>") == len(p.rejected_spans)
        if p.factor == "tamper":
            assert p.chosen_spans == p.rejected_spans and p.chosen != p.rejected
        else:
            assert p.chosen_spans != p.rejected_spans and p.chosen == p.rejected
    assert synth_fpo.main(args) == 0  # resume: nothing new
    assert len(list(read_jsonl(out, PreferencePair))) == len(pairs)
    bad = parser.parse_args(["--in", str(tmp_path / "tw" / "annotations" / "dense.jsonl"), "--out", str(out),
                             "--factors", "swap"])
    bad.quiet = True
    with pytest.raises(ValueError, match="unknown factor"):
        synth_fpo.main(bad)


@pytest.mark.parametrize("preset", ["d2vlm_tiny.yaml", "d2vlm_qwen25vl_7b.yaml"])
def test_presets_load(preset):
    cfg = load_config(D2VLMConfig, REPO / "configs" / "train" / preset)
    assert cfg.stage == "both" and cfg.fpo.beta == 0.1
    assert cfg.evidence.gnd_weight == 10.0 and cfg.evidence.cons_weight == 10.0
    assert not cfg.sft.optim.gradient_checkpointing


@pytest.mark.integration
def test_recipe_end_to_end_on_tempoworld(tmp_path):
    """SFT then FPO on a 3-video TempoWorld with the tiny preset shrunk; metrics and both checkpoints."""
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.models.evidence import load_evidence_model
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.fpo import FPOSynthConfig, fpo_pairs
    from tempoforge.train.recipes.d2vlm import run_d2vlm
    from tempoforge.world import generate_world, preset_config

    world = tmp_path / "tw"
    generate_world(world, videos=3, seed=0, config=preset_config("tiny"))
    ann = world / "annotations"
    pairs = [p for s in read_jsonl(ann / "dense.jsonl", DenseCaptionSample)
             for p in fpo_pairs(s, FPOSynthConfig(factors=["shift", "tamper"]),
                                str((ann / s.video).resolve()))]
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    cfg = load_config(D2VLMConfig, REPO / "configs" / "train" / "d2vlm_tiny.yaml", overrides={
        "dense": str(ann / "dense.jsonl"), "grounding": str(ann / "grounding.jsonl"),
        "pairs": str(tmp_path / "pairs.jsonl"), "eval_dense": str(ann / "dense.jsonl"),
        "eval_grounding": str(ann / "grounding.jsonl"), "eval_limit": 2, "max_new_tokens": 24,
        "out": str(tmp_path / "run")})
    cfg.sft.optim.max_steps = 4
    cfg.fpo.optim.max_steps = 2
    res = run_d2vlm(cfg)
    for stage in ("sft", "fpo"):
        m = res["metrics"][stage]
        assert set(m) == {"grounding", "dense"} and 0.0 <= m["dense"]["evidence"]["F1"] <= 1.0
        assert (tmp_path / "run" / stage / "metrics.json").is_file()
        load_evidence_model(tmp_path / "run" / stage)
    again = run_d2vlm(cfg)  # both stages done: nothing retrained
    assert again["curves"] == {}
    cfg.stage = "eval"  # score the saved FPO model again, with the sampling recorded in it
    ev = run_d2vlm(cfg)
    assert ev["final"].endswith("fpo") and ev["metrics"]["eval"] == res["metrics"]["fpo"]
    lines = (tmp_path / "run" / "eval" / "predictions_dense.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    assert {"evidence_spans", "answer_spans", "raw"} <= set(rec["meta"]) and rec["timestamps"] == "mrope"

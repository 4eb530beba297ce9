"""Training core: shared-prefix log-probs equal full forwards; SFT and DPO learn, with the video in the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tempoforge.models.inputs import build_example, collate
from tempoforge.models.logps import sequence_logps
from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.records import Frames, PreferencePair
from tempoforge.train.base import OptimSettings, VisionProbe
from tempoforge.train.data import SFTItem
from tempoforge.train.dpo import DPOSettings, dpo_loss, run_dpo
from tempoforge.train.logps import shared_prefix_logps
from tempoforge.train.lora import LoraSettings
from tempoforge.train.sft import SFTSettings, run_sft

PROMPT = "When is the red square visible?"


def _answer(start: float, end: float) -> str:
    return f"from {start:.1f} to {end:.1f}"


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_shared_prefix_equals_full_forwards(family):
    lm = build_tiny(family, seed=1)
    model = lm.model.train()
    rng = np.random.default_rng(0)
    frames = [Frames(rng.integers(0, 255, (8, 56, 56, 3), dtype=np.uint8), np.arange(8.0)) for _ in range(2)]
    groups = [[build_example(lm, PROMPT, f, "mrope", answer=a) for a in ("from 1.0 to 3.0", "from 5.0 to 7.5 s")]
              for f in frames]
    pad = lm.token_ids["pad"]
    flat = [e for g in groups for e in g]
    full = model(**{k: v for k, v in collate(flat, pad_token_id=pad, padding_side="right").items() if k != "labels"})
    naive, _ = sequence_logps(full.logits, collate(flat, pad_token_id=pad, padding_side="right")["labels"])
    naive.sum().backward()
    g_naive = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    shared = shared_prefix_logps(model, groups, pad_token_id=pad).sum_logps
    shared.sum().backward()
    torch.testing.assert_close(shared, naive, rtol=1e-5, atol=1e-4)
    for name, grad in g_naive.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, grad, rtol=1e-4, atol=1e-5)


def test_dpo_loss_by_hand():
    # beta 0.1, policy (chosen, rejected) = (-10, -12), reference = (-11, -11):
    # margin = 0.1 * ((-10 + 11) - (-12 + 11)) = 0.2 -> loss = -log sigmoid(0.2) = log(1 + e^-0.2) = 0.598139
    loss, cr, rr = dpo_loss(torch.tensor([-10.0]), torch.tensor([-12.0]), torch.tensor([-11.0]),
                            torch.tensor([-11.0]), 0.1)
    assert loss.item() == pytest.approx(0.5981388693, abs=1e-6)
    assert cr.item() == pytest.approx(0.1) and rr.item() == pytest.approx(-0.1)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def test_sft_learns_and_sees_the_video(square_videos, tmp_path):
    lm = build_tiny("qwen2_5_vl")
    items = [SFTItem(f"i{k}", v, PROMPT, _answer(s, e)) for k, (v, s, e) in enumerate(square_videos)]
    settings = SFTSettings(optim=OptimSettings(learning_rate=3e-3, max_steps=24, batch_size=2, warmup_ratio=0.0),
                           lora=LoraSettings(enabled=False, train_vision=True), video=VideoSettings(fps=1, max_frames=8))
    with VisionProbe(lm.model) as probe:
        result = run_sft(lm, items, settings, tmp_path / "sft")
    assert len(result.losses) == 24
    assert _mean(result.losses[-3:]) < 0.7 * _mean(result.losses[:3])
    assert probe.calls >= 24 and probe.rows > 0, "video tensors must reach the loss forward"
    assert (tmp_path / "sft" / "tempoforge_train.json").exists()


def test_dpo_learns_preference_with_lora(square_videos, tmp_path):
    lm = build_tiny("qwen2_5_vl")
    pairs = [PreferencePair(id=f"p{k}", video=v, prompt=PROMPT, chosen=_answer(s, e),
                            rejected=_answer(8 - e, 8 - s), kind="reverse", r=16)
             for k, (v, s, e) in enumerate(square_videos)]
    settings = DPOSettings(beta=0.1, optim=OptimSettings(learning_rate=5e-3, max_steps=16, batch_size=2,
                                                         warmup_ratio=0.0),
                           lora=LoraSettings(r=8, alpha=16, dropout=0.0), video=VideoSettings(fps=1, max_frames=8))
    with VisionProbe(lm.model) as probe:
        result = run_dpo(lm, pairs, settings, tmp_path / "dpo")
    assert result.losses[0] == pytest.approx(np.log(2), abs=1e-3), "policy == reference at step 0"
    assert _mean(result.losses[-3:]) < _mean(result.losses[:3]) - 0.01
    assert result.accuracy[-1] == 1.0
    assert probe.calls > 16, "video tensors must reach the loss forward"

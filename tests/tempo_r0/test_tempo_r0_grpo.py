"""GRPO on video: advantages and loss by hand, on-policy log-probs, and training that sees the video and learns.

The GRPO loss itself is ~0 at every step with one optimizer step per rollout (the advantages of a group
sum to zero and the ratio is 1: the *gradient* is the policy gradient), so "it learns" is shown by the
mean reward going up, not by a falling loss.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tempoforge.models.inputs import build_example, collate
from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.records import Frames
from tempoforge.train.base import OptimSettings, VisionProbe, find_vision_tower
from tempoforge.train.grpo import (
    GRPOItem,
    GRPOSettings,
    group_advantages,
    grpo_loss,
    run_grpo,
    with_completion,
)
from tempoforge.train.logps import shared_prefix_logps
from tempoforge.train.lora import LoraSettings

PROMPT = "When does the red circle appear?"


def test_group_advantages_by_hand():
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    # group 1: mean 0.5, unbiased std = sqrt((4 * 0.25) / 3) = sqrt(1/3); A = +-0.5 / (sqrt(1/3) + 1e-4)
    a = 0.5 / (math.sqrt(1 / 3) + 1e-4)
    got = group_advantages(r, 4)
    torch.testing.assert_close(got, torch.tensor([a, -a, -a, a, 0.0, 0.0, 0.0, 0.0]))
    assert torch.all(got[4:] == 0.0), "all-equal rewards: exactly zero advantage (0 / (0 + eps))"
    torch.testing.assert_close(group_advantages(r, 4, scale=False), torch.tensor([0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0.0]))
    with pytest.raises(ValueError):
        group_advantages(r, 3)


def test_grpo_loss_clipping_by_hand():
    # ratios rho = [1.5, 1.5, 0.5, 0.5], A = [+1, -1, -1, +1], eps 0.2:
    # row 0: min(1.5, 1.2) = 1.2 -> -1.2 (clipped); row 1: min(-1.5, -1.2) = -1.5 -> +1.5 (not clipped)
    # row 2: min(-0.5, -0.8) = -0.8 -> +0.8 (clipped); row 3: min(0.5, 0.8) = 0.5 -> -0.5
    # mean = (-1.2 + 1.5 + 0.8 - 0.5) / 4 = 0.15; clip ratio 2/4
    old = torch.zeros(4, 1)
    logps = torch.log(torch.tensor([[1.5], [1.5], [0.5], [0.5]])).requires_grad_()
    adv = torch.tensor([1.0, -1.0, -1.0, 1.0])
    out = grpo_loss(logps, old, adv, torch.ones(4, 1, dtype=torch.bool))
    assert out.loss.item() == pytest.approx(0.15, abs=1e-6)
    assert out.clip_ratio == pytest.approx(0.5)
    out.loss.backward()
    # d/dlogp of -rho*A / 4 = -rho * A / 4: row 0 clipped -> 0; row 1 -> 1.5/4; row 2 clipped -> 0; row 3 -> -0.5/4
    torch.testing.assert_close(logps.grad, torch.tensor([[0.0], [0.375], [0.0], [-0.125]]))


def test_grpo_loss_masking_and_kl_by_hand():
    logps = torch.tensor([[math.log(0.5), math.log(0.5)], [math.log(0.25), 0.0]])
    mask = torch.tensor([[True, True], [True, False]])
    adv = torch.tensor([1.0, -1.0])
    # ratio 1: per-token -A: row 0 tokens -1, -1 (mean -1); row 1 token +1 (padding ignored)
    assert grpo_loss(logps, logps, adv, mask).loss.item() == pytest.approx(0.0)  # (-1 + 1) / 2
    assert grpo_loss(logps, logps, adv, mask, loss_type="token").loss.item() == pytest.approx(-1 / 3)
    # k3 KL with ref - logp = log 2: 2 - log 2 - 1 = 0.306853; A = 0 -> loss = beta * KL
    ref = logps + math.log(2)
    out = grpo_loss(logps, logps, torch.zeros(2), mask, ref_logps=ref, beta=0.1)
    assert out.kl == pytest.approx(1 - math.log(2), abs=1e-6)
    assert out.loss.item() == pytest.approx(0.1 * (1 - math.log(2)), abs=1e-6)


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_with_completion_matches_build_example(family):
    lm = build_tiny(family)
    frames = Frames(torch.randint(0, 255, (4, 56, 56, 3), dtype=torch.uint8).numpy(), torch.arange(4.0).double().numpy())
    for strategy in ("mrope", "text"):
        answer = "<think>x</think><answer>From 1 to 2 seconds.</answer>"
        full = build_example(lm, PROMPT, frames, strategy, answer=answer)
        prompt = build_example(lm, PROMPT, frames, strategy)
        ids = lm.tokenizer(answer + "<|im_end|>\n", add_special_tokens=False)["input_ids"]
        ext = with_completion(prompt, torch.tensor(ids))
        for key in ("input_ids", "mm_token_type_ids", "position_ids", "labels"):
            assert torch.equal(getattr(ext, key), getattr(full, key)), (family, strategy, key)


@pytest.mark.parametrize("strategy", ["mrope", "text"])
@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_sampled_logits_equal_the_trained_logps(family, strategy):
    """What generate sampled from (num_return_sequences, left padding, explicit positions) is the distribution
    shared_prefix_logps trains: log-probs of the sampled tokens agree."""
    lm = build_tiny(family, seed=2)
    ids = lm.token_ids
    frames = Frames(torch.randint(0, 255, (4, 56, 56, 3), dtype=torch.uint8).numpy(), torch.arange(4.0).double().numpy() * 1.5)
    prompts = [build_example(lm, PROMPT, frames, strategy), build_example(lm, "Where is it, in seconds?", frames, strategy)]
    batch = collate(prompts, pad_token_id=ids["pad"], padding_side="left")
    torch.manual_seed(0)
    out = lm.model.generate(**batch, do_sample=True, top_k=0, num_return_sequences=3, max_new_tokens=5,
                            pad_token_id=ids["pad"], eos_token_id=[ids["eos"], ids["pad"]], output_logits=True,
                            return_dict_in_generate=True)
    new = out.sequences[:, batch["input_ids"].shape[1]:]
    sampled = torch.log_softmax(torch.stack(out.logits, 1), -1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
    groups = [[with_completion(p, new[i * 3 + j]) for j in range(3)] for i, p in enumerate(prompts)]
    with torch.no_grad():
        res = shared_prefix_logps(lm.model, groups, pad_token_id=ids["pad"])
    torch.testing.assert_close(res.token_logps, sampled, rtol=1e-4, atol=1e-4)


def _digits(completions: list[str], **_: object) -> list[float]:
    """Toy reward: the share of characters that are digits (dense, easy to learn)."""
    return [sum(ch.isdigit() for ch in c) / max(1, len(c)) for c in completions]


def _items(world: Path, n: int = 4) -> list[GRPOItem]:
    vids = sorted((world / "videos").glob("*.mp4"))[:n]
    return [GRPOItem(f"i{k}", str(v), PROMPT, ((1.0, 3.0),), 10.0) for k, v in enumerate(vids)]


def test_grpo_learns_and_the_video_reaches_the_loss_forward(tiny_world, tmp_path):
    lm = build_tiny("qwen2_5_vl")
    settings = GRPOSettings(num_generations=8, max_new_tokens=6, beta=0.0,
                            optim=OptimSettings(learning_rate=2e-2, max_steps=24, batch_size=2, warmup_ratio=0.0,
                                                scheduler="constant"),
                            lora=LoraSettings(enabled=False), video=VideoSettings(fps=1, max_frames=8, strategy="text"))
    with_grad: list[bool] = []
    handle = find_vision_tower(lm.model).register_forward_pre_hook(lambda *_: with_grad.append(torch.is_grad_enabled()))
    try:
        with VisionProbe(lm.model) as probe:
            res = run_grpo(lm, _items(tiny_world), settings, tmp_path / "grpo", rewards=[_digits])
    finally:
        handle.remove()
    assert len(res.rewards) == 24 and res.parts["_digits"] == pytest.approx(res.rewards)
    first, last = sum(res.rewards[:4]) / 4, sum(res.rewards[-4:]) / 4
    assert last > first + 0.1, f"mean reward should rise: {res.rewards}"
    # per step: one generate (no grad) + one loss forward (grad) through the vision tower
    assert probe.calls == 48 and probe.rows > 0
    assert with_grad.count(True) == 24, "the forward that computes the loss must receive the video tensors"
    assert (tmp_path / "grpo" / "tempoforge_train.json").exists()


def test_grpo_lora_reference_kl_and_frozen_vision(tiny_world, tmp_path):
    lm = build_tiny("qwen2_5_vl")
    vision_before = {n: p.detach().clone() for n, p in lm.model.named_parameters() if ".visual." in f".{n}"}
    settings = GRPOSettings(num_generations=4, max_new_tokens=4, beta=0.5, rewards=["format", "refusal"],
                            optim=OptimSettings(learning_rate=5e-2, max_steps=2, batch_size=2, warmup_ratio=0.0),
                            lora=LoraSettings(r=4, alpha=8, dropout=0.0), video=VideoSettings(fps=1, max_frames=4))
    with VisionProbe(lm.model) as probe:
        res = run_grpo(lm, _items(tiny_world, 2), settings, tmp_path / "grpo", rewards=[_digits])
    kl = res.stats["kl"]
    assert kl[0] == 0.0, "a fresh adapter (B = 0) is exactly the reference"
    assert kl[1] > 0.0, "after one update the policy differs from the adapter-disabled reference"
    assert probe.calls == 6  # per step: generate + reference + policy
    checked = 0
    for n, p in lm.model.named_parameters():
        if n.replace("base_model.model.", "") in vision_before:
            assert torch.equal(p, vision_before[n.replace("base_model.model.", "")]), n
            checked += 1
    assert vision_before and checked == len(vision_before)


def test_grpo_reuses_a_rollout_for_num_iterations(tiny_world, tmp_path):
    lm = build_tiny("qwen2_5_vl")
    settings = GRPOSettings(num_generations=4, max_new_tokens=4, beta=0.0, num_iterations=2,
                            optim=OptimSettings(learning_rate=5e-2, max_steps=2, batch_size=2, warmup_ratio=0.0),
                            lora=LoraSettings(enabled=False), video=VideoSettings(fps=1, max_frames=4))
    with VisionProbe(lm.model) as probe:
        res = run_grpo(lm, _items(tiny_world, 2), settings, tmp_path / "grpo", rewards=[_digits])
    assert probe.calls == 4  # step 1: generate + old log-probs + loss; step 2: loss only
    assert len(res.rewards) == 1, "reward statistics are logged once per rollout"
    with pytest.raises(ValueError, match="grad_accum"):
        run_grpo(lm, _items(tiny_world, 2), GRPOSettings(num_iterations=2, optim=OptimSettings(grad_accum=2)),
                 tmp_path / "x")


def test_settings_validation():
    with pytest.raises(ValueError, match="num_generations"):
        GRPOSettings(num_generations=1)
    with pytest.raises(ValueError, match="reward_weights"):
        GRPOSettings(rewards=["format"], reward_weights=[1.0, 2.0])


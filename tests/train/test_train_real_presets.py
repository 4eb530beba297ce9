"""Every method's real-size preset trains on its real architecture cut to 2 layers (integration, CPU).

``plan.measure.run_preset`` builds the preset's published architecture (same widths, random bf16 weights,
2 decoder layers and 2 vision blocks) and runs each stage's trainer with the preset's own settings: LoRA or
full fine-tuning, gradient checkpointing, the frame budget, timestamp strategy, frame selection. The
shrinking overrides are named in each test: one step, one merged token per frame pair (``pixels=784``), and
for GRPO, the group size and completion length. A shape, dtype or memory mistake in a
real preset fails here: the first run of ``temple_qwen25vl_7b.yaml`` and ``tempo_r0_qwen25vl_7b.yaml`` did
(no KV cache under gradient checkpointing), and the measured peak must agree with ``tempoforge plan``'s
estimate for the same cut model.

Each test takes ~1-2 minutes on 2 free cores and stays under ~5 GiB above the interpreter's baseline.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tempoforge.plan.measure import StageRun, run_preset

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
GIB = 2**30


def _check_estimate(preset: str, runs: list[StageRun], layers: int = 2) -> None:
    """The measured peak of each stage is within 30 % of ``plan``'s estimate for the same cut model."""
    from tempoforge.plan.estimate import estimate
    from tempoforge.plan.presets import Stage, read_preset, resolve_model, workload
    from tempoforge.plan.shapes import VideoTokens, model_shape

    plan = read_preset(REPO / "configs" / "train" / preset)
    shape = model_shape(resolve_model(plan.model, layers=layers).config)
    for st, run in zip(plan.stages, runs, strict=True):
        w = workload(Stage(st.name, st.kind, run.settings, run.answer_tokens),
                     VideoTokens(run.frames, (0, 0), run.video_tokens, run.vision_rows), prompt_tokens=run.prompt_tokens)
        est = estimate(shape, w, "local", 1).peak
        assert 0.7 < run.peak_bytes / est < 1.3, f"{run.name}: measured {run.peak_bytes / GIB:.2f} GiB, " \
                                                 f"estimated {est / GIB:.2f} GiB"


def _common(run: StageRun, frames: int, checkpointing: bool) -> None:
    assert len(run.losses) == 1 and all(math.isfinite(x) for x in run.losses), run
    assert run.frames == frames, "the preset's frame budget reaches the model"
    assert run.vision_calls >= 1, "the video reaches the forward that computes the loss"
    assert run.checkpointing is checkpointing
    assert run.dtype == "bfloat16"


def test_temple_qwen25vl_7b(tmp_path: Path) -> None:
    _, runs = run_preset(REPO / "configs/train/temple_qwen25vl_7b.yaml", tmp_path, layers=2, pixels=784)
    assert [r.kind for r in runs] == ["dpo", "sft"]
    dpo, sft = runs
    for r in runs:
        _common(r, frames=64, checkpointing=True)
    # LoRA r 32 on the LM's linear layers only for DPO, vision adapted too for SFT: trainable << 1.6B
    assert 0 < dpo.trainable < sft.trainable < 0.02 * 1.6e9
    assert abs(dpo.losses[0] - math.log(2)) < 0.01  # a fresh LoRA is the reference: -log sigmoid(0)
    assert dpo.video_tokens == 32  # 64 frames -> 32 frame pairs x 1 merged token
    _check_estimate("temple_qwen25vl_7b.yaml", runs)


def test_tempura_qwen25vl_3b(tmp_path: Path) -> None:
    _, runs = run_preset(REPO / "configs/train/tempura_qwen25vl_3b.yaml", tmp_path, layers=2, pixels=784)
    assert [r.name for r in runs] == ["masked (sft)", "dense (sft)"]
    for r in runs:
        _common(r, frames=256, checkpointing=True)
        assert r.trainable > 0.5e9  # full fine-tune, vision tower included (lora.enabled: false)
        assert r.video_tokens == 256  # frames as separate images (overlay): one token each
    _check_estimate("tempura_qwen25vl_3b.yaml", runs)


def test_d2vlm_qwen25vl_7b(tmp_path: Path) -> None:
    _, runs = run_preset(REPO / "configs/train/d2vlm_qwen25vl_7b.yaml", tmp_path, layers=2, pixels=784)
    assert [r.kind for r in runs] == ["evidence", "fpo"]
    for r in runs:
        _common(r, frames=128, checkpointing=False)  # the preset keeps it off (KV-cache continuation)
        assert 0 < r.trainable < 0.05 * 1.6e9  # LoRA r 64 + the evidence heads
    _check_estimate("d2vlm_qwen25vl_7b.yaml", runs)


def test_tempo_r0_qwen25vl_7b(tmp_path: Path) -> None:
    # shrinking overrides: group size 2 (not 8) and 4 new tokens (not 256) per completion
    _, runs = run_preset(REPO / "configs/train/tempo_r0_qwen25vl_7b.yaml", tmp_path, layers=2, pixels=784,
                            max_new=4, generations=2)
    (grpo,) = runs
    _common(grpo, frames=64, checkpointing=True)
    assert grpo.settings.video.selection == "saa" and grpo.settings.video.strategy == "text"
    assert grpo.vision_calls >= 2  # sampling and the loss forward both see the video
    _check_estimate("tempo_r0_qwen25vl_7b.yaml", runs)

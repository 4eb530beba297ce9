"""TEMPURA model input (masked frames black, no timestamp) and the two-stage recipe on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tempoforge.config import load_config
from tempoforge.io.overlay import burn_timestamps
from tempoforge.models.inputs import build_example
from tempoforge.models.tensorize import tensorize_images
from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.records import Frames
from tempoforge.synth.ver import TempuraSynthConfig, run_ver
from tempoforge.train.base import OptimSettings, VisionProbe
from tempoforge.train.lora import LoraSettings
from tempoforge.train.recipes.tempura import TempuraConfig, run_tempura, stage_items
from tempoforge.train.sft import SFTSettings

ROOT = Path(__file__).resolve().parents[2]


def _frames() -> Frames:
    rng = np.random.default_rng(0)
    return Frames(rng.integers(60, 200, (6, 56, 56, 3), dtype=np.uint8), np.arange(6.0))


def test_masked_frames_are_black_without_timestamp():
    lm = build_tiny("qwen2_5_vl")
    frames = _frames()
    ex = build_example(lm, "What happens?", frames, "overlay", masked_spans=[(2.0, 4.0)])
    plain = build_example(lm, "What happens?", frames, "overlay")
    # expected: every frame with its overlay, then frames at t = 2, 3 (2 <= t < 4) replaced by black
    expected = burn_timestamps(frames).data.copy()
    expected[2:4] = 0
    want = tensorize_images(expected, lm.vision).pixel_values
    torch.testing.assert_close(ex.pixel_values, want)
    assert torch.equal(ex.input_ids, plain.input_ids) and torch.equal(ex.position_ids, plain.position_ids)
    rows = ex.pixel_values.shape[0] // 6  # patch rows per frame
    differs = [not torch.equal(ex.pixel_values[i * rows:(i + 1) * rows], plain.pixel_values[i * rows:(i + 1) * rows])
               for i in range(6)]
    assert differs == [False, False, True, True, False, False]
    black = burn_timestamps(frames, skip=[False, False, True, True, False, False])
    assert np.array_equal(black.data[2], frames.data[2])  # skipped: no overlay drawn


@pytest.fixture(scope="module")
def samples(tiny_world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ver")
    # static_min_change: TempoWorld is lossless, a slow small-object video changes by < 1 level per frame
    run_ver(TempuraSynthConfig(input=tiny_world, out=out, static_min_change=0.25), progress=False)
    return out / "samples.jsonl"


def _stage(steps: int) -> SFTSettings:
    return SFTSettings(optim=OptimSettings(learning_rate=3e-3, max_steps=steps, batch_size=2, warmup_ratio=0.0),
                       lora=LoraSettings(enabled=False, train_vision=True),
                       video=VideoSettings(fps=1.0, max_frames=8, strategy="overlay"), vision_learning_rate=1e-3)


def test_stage_items_carry_masks_and_time_instruction(samples):
    video = VideoSettings(fps=1.0, max_frames=32, strategy="overlay")
    masked = stage_items(samples, "masked", video, time_instruction=True)
    dense = stage_items(samples, "dense", video)
    assert len(dense) == 6 and masked and all(len(it.masked) == 1 for it in masked) and not dense[0].masked
    assert masked[0].prompt.startswith("You are given a video sampled at 1 frame per second, so input video frames "
                                       "are sampled at 0.0, 1.0, 2.0, ")
    capped = stage_items(samples, "masked", VideoSettings(fps=1.0, max_frames=4), time_instruction=True)
    assert "sampled at 1 frame per second" not in capped[0].prompt  # the cap spread the frames: true rate
    assert "Given the input video with the masked segment from" in masked[0].prompt


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def test_s1_s2_learns_sees_video_and_resumes(samples, tmp_path):
    lm = build_tiny("qwen2_5_vl")
    cfg = TempuraConfig(data=str(samples), out=str(tmp_path / "run"), order="s1-s2", masked=_stage(10), dense=_stage(10))
    with VisionProbe(lm.model) as probe:
        res = run_tempura(cfg, lm=lm)
    assert res["stages"] == ["stage1_masked", "stage2_dense"]
    for name in res["stages"]:
        loss = res["curves"][name]["loss"]
        assert len(loss) == 10 and _mean(loss[-3:]) < 0.9 * _mean(loss[:3]), (name, loss)
        assert (tmp_path / "run" / name / "tempoforge_stage_done.json").is_file()
    assert probe.calls >= 20 and probe.rows > 0, "video tensors must reach the loss forward"
    # a rerun finds both stages done and trains nothing
    again = run_tempura(cfg)
    assert again["curves"] == {} and again["final"] == str(tmp_path / "run" / "stage2_dense")


def test_s2_only_ablation_and_vision_lr_groups(samples, tmp_path):
    from transformers import Trainer

    import tempoforge.train.sft as sft

    seen: dict[str, list[float]] = {}
    orig = sft._split_lr_optimizer

    def spy(trainer: Trainer, model, settings):  # record the optimiser's per-group learning rates
        opt = orig(trainer, model, settings)
        seen["lrs"] = sorted({g["lr"] for g in opt.param_groups})
        seen["wd"] = sorted({g["weight_decay"] for g in opt.param_groups})
        return opt

    sft._split_lr_optimizer = spy
    try:
        st = _stage(2)
        st.optim.weight_decay = 0.1
        res = run_tempura(TempuraConfig(data=str(samples), out=str(tmp_path / "s2"), order="s2-only",
                                        masked=_stage(2), dense=st), lm=build_tiny("qwen2_5_vl"))
    finally:
        sft._split_lr_optimizer = orig
    assert res["stages"] == ["stage1_dense"] and list(res["curves"]) == ["stage1_dense"]
    assert seen["lrs"] == [1e-3, 3e-3] and seen["wd"] == [0.0, 0.1]


def test_presets_load():
    tiny = load_config(TempuraConfig, ROOT / "configs/train/tempura_tiny.yaml")
    assert tiny.order == "s1-s2" and tiny.masked.video.strategy == "overlay" and not tiny.masked.lora.enabled
    big = load_config(TempuraConfig, ROOT / "configs/train/tempura_qwen25vl_3b.yaml")
    for st in (big.masked, big.dense):
        o = st.optim
        assert (o.learning_rate, st.vision_learning_rate, o.weight_decay, o.warmup_ratio) == (1e-5, 2e-6, 0.1, 0.03)
        assert o.batch_size * o.grad_accum * 8 == 64 and o.scheduler == "cosine" and o.epochs == 1
        assert st.video.max_pixels == 320 * 180 and st.video.fps == 1.0 and st.video.strategy == "overlay"
        assert not st.lora.enabled and st.lora.train_vision
    with pytest.raises(ValueError, match="order"):
        TempuraConfig(order="s3")
    assert json.loads(json.dumps(big.out))

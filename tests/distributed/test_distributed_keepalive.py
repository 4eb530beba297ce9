"""The vision keep-alive, text-only examples, rank helpers and the shipped accelerate configs (one process)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tempoforge.models.inputs import IGNORE_INDEX, build_example, collate
from tempoforge.models.kv_cache import CACHE_ARGUMENTS, cache_kwargs, output_cache
from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.records import Frames
from tempoforge.train.base import VisionProbe
from tempoforge.train.data import ExampleCollator, ExampleDataset, SFTItem
from tempoforge.train.distributed import (
    VisionKeepAlive,
    barrier,
    full_state_dict,
    gathered_for_update,
    is_main_process,
    is_sharded,
    rank,
    text_example,
    world_size,
)

ACCELERATE = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


def _vision_grads(model: torch.nn.Module) -> dict[str, torch.Tensor | None]:
    return {n: p.grad for n, p in model.named_parameters() if "visual" in n.split(".")}


def _text_batch(lm: object) -> dict[str, torch.Tensor]:
    ex = text_example(lm, "What is two plus two?", "four")
    return collate([ex], pad_token_id=lm.token_ids["pad"], padding_side="right")  # type: ignore[attr-defined]


@pytest.mark.parametrize("family", FAMILIES)
def test_text_batch_runs_dummy_vision_with_identical_loss(family: str) -> None:
    lm = build_tiny(family, seed=0)
    model = lm.model
    model.train()
    batch = _text_batch(lm)
    plain = model(**batch).loss
    plain.backward()
    assert all(g is None for g in _vision_grads(model).values()), "stock forward: the vision tower is unused"
    model.zero_grad(set_to_none=True)
    with VisionKeepAlive(model) as keep, VisionProbe(model) as probe:
        kept = model(**batch).loss
        kept.backward()
    assert torch.equal(kept.detach(), plain.detach())  # + 0 * (dummy outputs): bit-identical loss
    assert keep.dummy_calls == 1 and probe.calls == 1
    m = model.config.vision_config.spatial_merge_size
    assert probe.rows == m * m  # one 1 x m x m dummy grid
    grads = _vision_grads(model)
    assert grads and all(g is not None and torch.count_nonzero(g) == 0 for g in grads.values())


def test_video_batch_is_untouched() -> None:
    lm = build_tiny("qwen2_5_vl", seed=0)
    model = lm.model
    model.train()
    rng = np.random.default_rng(0)
    frames = Frames(rng.integers(0, 255, (4, 56, 56, 3), dtype=np.uint8), np.arange(4, dtype=np.float64))
    batch = collate([build_example(lm, "When?", frames, answer="from 1 to 2")], pad_token_id=lm.token_ids["pad"],
                    padding_side="right")
    with VisionKeepAlive(model) as keep, VisionProbe(model) as probe:
        model(**batch).loss.backward()
    assert keep.dummy_calls == 0 and probe.calls == 1
    assert probe.rows == 2 * 4 * 4  # 4 frames / temporal patch 2 = 2, 56 / 14 = 4 patches a side
    assert any(torch.count_nonzero(g) > 0 for g in _vision_grads(model).values() if g is not None)


def test_no_dummy_without_a_backward_or_from_a_cache() -> None:
    lm = build_tiny("qwen2_5_vl", seed=0)
    model = lm.model
    batch = _text_batch(lm)
    keep = VisionKeepAlive(model)
    model.eval()
    model(**batch)  # eval mode
    model.train()
    with torch.no_grad():
        model(**batch)  # reference log-probs / generation
    out = model(**batch, use_cache=True)
    assert keep.dummy_calls == 1  # only the training forward that starts a sequence
    nxt = torch.tensor([[lm.token_ids["pad"]]])
    pos = batch["position_ids"][:, :, -1:] + 1
    model(input_ids=nxt, position_ids=pos, **cache_kwargs(model, output_cache(out)), use_cache=True)
    assert keep.dummy_calls == 1, "a continuation from a KV cache does not start a new sequence"
    for name in CACHE_ARGUMENTS:  # whichever name the caller uses (the old one warns on transformers >= 5.25)
        out = model(**batch, use_cache=True)
        started = keep.dummy_calls
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model(input_ids=nxt, position_ids=pos, **{name: output_cache(out)}, use_cache=True)
        assert keep.dummy_calls == started, f"a continuation from a KV cache passed as {name}= starts no sequence"
    assert keep.dummy_calls == 1 + len(CACHE_ARGUMENTS)
    keep.remove()
    model(**batch)
    assert keep.dummy_calls == 1 + len(CACHE_ARGUMENTS), "removed hooks do nothing"


def test_text_example_labels_and_positions() -> None:
    lm = build_tiny("qwen2_5_vl", seed=0)
    ex = text_example(lm, "What is two plus two?", "four")
    n = len(ex.input_ids)
    answer = lm.tokenizer("four<|im_end|>\n", add_special_tokens=False)["input_ids"]
    assert ex.input_ids[ex.prompt_length:].tolist() == answer
    assert ex.labels is not None
    assert (ex.labels[: ex.prompt_length] == IGNORE_INDEX).all()
    assert ex.labels[ex.prompt_length:].tolist() == answer
    # text-only M-RoPE: all three rows are 0 .. L-1
    assert torch.equal(ex.position_ids, torch.arange(n).expand(3, n))
    assert int(ex.mm_token_type_ids.sum()) == 0 and ex.pixel_values_videos is None
    with pytest.raises(ValueError, match="vision tokens"):
        text_example(lm, "look <|video_pad|>", "x")


def test_dataset_mixes_text_only_items(tmp_path: Path) -> None:
    from tempoforge.io import write_video

    lm = build_tiny("qwen2_5_vl", seed=0)
    video = write_video(tmp_path / "v.mp4", [np.zeros((56, 56, 3), np.uint8)] * 4, 1)
    ds = ExampleDataset(lm, [SFTItem("v", str(video), "When?", "from 0 to 1"), SFTItem("t", "", "Hi?", "hello")],
                        VideoSettings(fps=1.0, max_frames=4))
    batch = ExampleCollator(lm.token_ids["pad"])([ds[0], ds[1]])
    assert batch["pixel_values_videos"].shape[0] == 2 * 4 * 4  # only the video item's patches
    assert ds[1].pixel_values_videos is None and ds[1].strategy == "text-only"
    lm.model.train()
    assert torch.isfinite(lm.model(**batch).loss)


def test_rank_helpers_single_process() -> None:
    assert world_size() == 1 and rank() == 0 and is_main_process()
    barrier()  # no process group: a no-op (would block forever if it tried to synchronise)


def test_accelerate_configs_load() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    expected = {"ddp.yaml": ("MULTI_GPU", 8), "zero2.yaml": ("DEEPSPEED", 8), "zero3.yaml": ("DEEPSPEED", 8),
                "fsdp.yaml": ("FSDP", 8), "cpu_ddp_2proc.yaml": ("MULTI_GPU", 2)}
    assert sorted(p.name for p in ACCELERATE.glob("*.yaml")) == sorted(expected)
    for name, (kind, procs) in expected.items():
        cfg = load_config_from_file(str(ACCELERATE / name))  # accelerate's own parser: unknown keys fail
        assert str(cfg.distributed_type).split(".")[-1] == kind, name
        assert cfg.num_processes == procs, name
        raw = yaml.safe_load((ACCELERATE / name).read_text())
        if name.startswith("zero"):
            assert cfg.deepspeed_config["zero_stage"] == int(name[4]), name
        if name == "fsdp.yaml":
            assert cfg.fsdp_config["fsdp_version"] == 2
        assert raw["mixed_precision"] == ("no" if name.startswith("cpu") else "bf16"), name


def test_unsharded_state_dict_is_the_model_own() -> None:
    lm = build_tiny("qwen2_5_vl", seed=0)
    assert not is_sharded(lm.model)
    with gathered_for_update(lm.model):  # no ZeRO-3 partitions: a no-op
        full = full_state_dict(lm.model)
    own = lm.model.state_dict()
    assert full.keys() == own.keys() and all(torch.equal(full[k], own[k]) for k in own)

"""Model inputs for every family and strategy: forward, generate, labels, and the time guardrails."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from tempoforge.errors import UserError
from tempoforge.models.inputs import (
    IGNORE_INDEX,
    build_batch,
    build_example,
    cap_frames,
    check_coverage,
    collate,
)
from tempoforge.records import Frames
from tempoforge.timestamps import STRATEGIES


def frames_at(fps: float, seconds: float, side: int = 56, seed: int = 0) -> Frames:
    n = round(seconds * fps)
    data = np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    return Frames(data, np.arange(n) / fps)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_forward_generate_and_labels(tiny, strategy: str) -> None:  # type: ignore[no-untyped-def]
    lm = tiny
    items = [("When does the square move?", frames_at(2, 4)), ("Where?", frames_at(1, 3, side=60, seed=1))]
    batch = build_batch(lm, items, strategy, answers=["From 1.0 to 2.0 seconds.", "Left."], padding_side="right")
    assert batch["position_ids"].shape == (3, *batch["input_ids"].shape)
    if lm.family.takes_second_per_grid_ts and strategy in ("mrope", "text"):
        assert "second_per_grid_ts" in batch
    else:
        assert "second_per_grid_ts" not in batch
    out = lm.model(**batch)
    assert torch.isfinite(out.loss)
    # labels: only the answer (+ "<|im_end|>\n") is supervised
    ex = build_example(lm, *items[0], strategy, answer="From 1.0 to 2.0 seconds.")
    assert ex.labels is not None
    sup = ex.labels[ex.labels != IGNORE_INDEX]
    assert lm.tokenizer.decode(sup) == "From 1.0 to 2.0 seconds.<|im_end|>\n"
    assert (ex.labels[: ex.prompt_length] == IGNORE_INDEX).all()
    prompt = build_batch(lm, items, strategy)
    gen = lm.model.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert gen.shape[0] == 2 and prompt["input_ids"].shape[1] < gen.shape[1] <= prompt["input_ids"].shape[1] + 4


def test_generate_continues_our_positions(tiny_models: dict) -> None:
    """Greedy decoding with explicit positions == argmax of one full forward with positions max + 1, + 2..."""
    lm = tiny_models["qwen2_5_vl"]
    ex = build_example(lm, "When?", frames_at(1, 12), "mrope")
    batch = collate([ex], pad_token_id=lm.token_ids["pad"])
    gen = lm.model.generate(**batch, max_new_tokens=3, do_sample=False, eos_token_id=None)
    new = gen[0, ex.input_ids.shape[0]:]
    assert new.shape[0] == 3
    full = gen[:, :-1]
    last = int(batch["position_ids"][0, 0, -1])
    extra = torch.arange(last + 1, last + 1 + full.shape[1] - ex.input_ids.shape[0]).view(1, 1, -1).expand(3, 1, -1)
    pos = torch.cat([batch["position_ids"], extra], dim=-1)
    types = torch.cat([batch["mm_token_type_ids"], torch.zeros(1, pos.shape[-1] - batch["mm_token_type_ids"].shape[1],
                                                                 dtype=torch.long)], dim=-1)
    with torch.no_grad():
        logits = lm.model(input_ids=full, attention_mask=torch.ones_like(full), position_ids=pos,
                          mm_token_type_ids=types, pixel_values_videos=batch["pixel_values_videos"],
                          video_grid_thw=batch["video_grid_thw"]).logits
    pred = logits[0, ex.input_ids.shape[0] - 1:].argmax(-1)
    assert pred.tolist() == new.tolist()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("fps", [0.5, 1.0, 2.0, 4.0])
def test_frame_at_10s_has_other_temporal_position_than_at_0s(tiny_models: dict, strategy: str, fps: float) -> None:
    """Guardrail: for every family and strategy, time reaches the temporal position ids."""
    for lm in tiny_models.values():
        ex = build_example(lm, "q", frames_at(fps, 12, side=28), strategy)
        # temporal id of the first token of the group holding each frame (a video group holds
        # temporal_patch_size frames, an image one frame)
        per_frame: list[int] = []
        i = 0
        for seg in ex.segments:
            while int(ex.mm_token_type_ids[i]) == 0:
                i += 1
            t, h, w = seg.grid
            span = 1 if seg.modality == 1 else lm.vision.temporal_patch_size
            for g in range(t):
                per_frame += [int(ex.position_ids[0, i + g * h * w])] * span
            i += seg.num_tokens
        times = ex.frame_times
        assert times.index(10.0) > 0
        at0, at10 = per_frame[times.index(0.0)], per_frame[times.index(10.0)]
        assert at10 > at0, (lm.family.model_type, strategy, fps, per_frame)
        assert ex.frame_times == [float(x) for x in np.arange(round(12 * fps)) / fps]


def test_qwen25_temporal_ids_are_seconds_times_tokens_per_second(tiny_models: dict) -> None:
    lm = tiny_models["qwen2_5_vl"]  # tokens_per_second = 2, temporal patch 2
    for fps in (0.5, 1.0, 2.0, 4.0):
        ex = build_example(lm, "q", frames_at(fps, 16, side=28), "mrope")
        (seg,) = ex.segments
        # group g starts at 2g/fps seconds -> offset floor(2g/fps * 2)
        assert list(seg.temporal_offsets) == [int(2 * g / fps * 2) for g in range(seg.grid[0])]


def test_fps_above_resolution_warns_about_truncated_positions(tiny_models: dict, caplog) -> None:  # type: ignore[no-untyped-def]
    """The fps > 2 pitfall: at 8 fps, 2-frame groups are 0.25 s apart but M-RoPE resolves 0.5 s."""
    lm = tiny_models["qwen2_5_vl"]
    with caplog.at_level(logging.WARNING):
        ex = build_example(lm, "q", frames_at(8, 2, side=28), "mrope")
    assert list(ex.segments[0].temporal_offsets) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert any("share a temporal position" in w and "at most 4 fps" in w for w in ex.warnings)
    assert "share a temporal position" in caplog.text
    ok = build_example(lm, "q", frames_at(4, 2, side=28), "mrope")
    assert not ok.warnings


def test_frame_cap_spreads_and_warns(caplog) -> None:  # type: ignore[no-untyped-def]
    fr = frames_at(1, 100, side=8)
    with caplog.at_level(logging.WARNING):
        capped = cap_frames(fr, 10)
    assert len(capped) == 10
    assert capped.times[0] == 0.0 and capped.times[-1] == 99.0  # the end of the video is kept
    assert capped.warnings and "max_frames=10" in capped.warnings[0]
    assert "the end of the video is kept" in caplog.text
    assert cap_frames(fr, 200) is fr


def test_coverage_check_flags_a_truncated_video() -> None:
    truncated = frames_at(1, 32, side=8)  # frames 0..31 s of a 100 s video
    msg = check_coverage(truncated, 100.0)
    assert msg is not None and "69.00 s are not seen" in msg
    with pytest.raises(UserError, match="not seen"):
        check_coverage(truncated, 100.0, strict=True)
    assert check_coverage(truncated, 32.0) is None
    assert check_coverage(truncated, None) is None


def test_prompt_needs_exactly_one_video(tiny_models: dict) -> None:
    lm = tiny_models["qwen2_vl"]
    msgs = [{"role": "user", "content": [{"type": "text", "text": "no video"}]}]
    with pytest.raises(UserError, match="exactly one video"):
        build_example(lm, msgs, frames_at(1, 2, side=28))
    with pytest.raises(UserError, match="unknown timestamp strategy"):
        build_example(lm, "q", frames_at(1, 2, side=28), "abs")


@pytest.mark.parametrize(("family", "strategy"), [("qwen2_5_vl", "mrope"), ("qwen3_vl", "text"), ("qwen2_vl", "overlay")])
def test_left_padded_batch_generates_like_single_examples(tiny_models: dict, family: str, strategy: str) -> None:
    """Padding and explicit positions: each row of a batch decodes exactly as it does alone (greedy)."""
    lm = tiny_models[family]
    items = [("When does it start?", frames_at(1, 10, seed=3)), ("Where?", frames_at(2, 3, side=60, seed=4))]
    kw = {"max_new_tokens": 5, "do_sample": False, "eos_token_id": None}
    together = lm.model.generate(**build_batch(lm, items, strategy), **kw)[:, -5:]
    for i, item in enumerate(items):
        alone = lm.model.generate(**build_batch(lm, [item], strategy), **kw)[:, -5:]
        assert together[i].tolist() == alone[0].tolist()


def test_time_origin_makes_offsets_absolute(tiny_models: dict) -> None:
    lm = tiny_models["qwen2_5_vl"]
    clip = Frames(np.zeros((4, 28, 28, 3), np.uint8), [30.0, 31.0, 32.0, 33.0])
    # groups start at 30 s and 32 s; tokens_per_second 2 -> relative (0, 4), absolute (60, 64)
    assert build_example(lm, "q", clip, "mrope").segments[0].temporal_offsets == (0, 4)
    assert build_example(lm, "q", clip, "mrope", time_origin=0.0).segments[0].temporal_offsets == (60, 64)


def test_fps_above_2_is_not_truncated(tiny_models: dict) -> None:
    """The fps > 2 pitfall: second_per_grid_ts = 2 / fps < 1; stored as an integer it becomes 0 and every
    frame group gets the same temporal id. tempoforge keeps it a float and, more to the point, passes
    position ids computed from the frame times, so the model never depends on it."""
    lm = tiny_models["qwen2_5_vl"]
    ex = build_example(lm, "q", frames_at(4, 4, side=28), "mrope")
    # groups start at 0, 0.5, 1.0, ... 3.5 s; tokens_per_second 2 -> offsets 0, 1, ..., 7
    assert ex.segments[0].temporal_offsets == tuple(range(8))
    batch = collate([ex], pad_token_id=lm.token_ids["pad"])
    assert batch["second_per_grid_ts"].dtype == torch.float32 and batch["second_per_grid_ts"].tolist() == [0.5]
    vis = ex.mm_token_type_ids == 2
    truncated = batch["second_per_grid_ts"].long()  # what an integer cast does: 0
    stock, _ = lm.model.model.get_rope_index(
        batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"], video_grid_thw=batch["video_grid_thw"],
        second_per_grid_ts=truncated, attention_mask=batch["attention_mask"])
    assert stock[0, 0, vis].unique().numel() == 1  # all 8 groups collapsed onto one temporal id
    assert batch["position_ids"][0, 0, vis].unique().numel() == 8
    with torch.no_grad():
        a = lm.model(**batch).logits
        b = lm.model(**{**batch, "second_per_grid_ts": truncated}).logits
    assert torch.equal(a, b)


def test_vision_tokens_in_text_are_rejected(tiny_models: dict) -> None:
    lm = tiny_models["qwen2_5_vl"]
    with pytest.raises(UserError, match="contains Qwen vision tokens"):
        build_example(lm, "what is <|video_pad|> here?", frames_at(1, 2, side=28))

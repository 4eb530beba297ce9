"""M-RoPE position ids: hand-computed values, the original rule vs transformers' get_rope_index."""

from __future__ import annotations

import pytest
import torch

from tempoforge.models.positions import (
    IMAGE,
    VIDEO,
    VisualSegment,
    group_start_times,
    mrope_position_ids,
    temporal_collisions,
    video_temporal_offsets,
)


def test_text_video_text_hand_computed() -> None:
    # 2 text tokens, a video with LLM grid (t=3, h=1, w=2) and temporal offsets (0, 2, 4), 2 text tokens.
    # text: 0, 1 -> next free position 2.
    # video tokens (t, row, col) in order: (0,0,0) (0,0,1) (1,0,0) (1,0,1) (2,0,0) (2,0,1); start s = 2
    #   temporal = 2 + offset -> 2,2,4,4,6,6 ; height = 2 + row -> 2 x6 ; width = 2 + col -> 2,3,2,3,2,3
    # text after: max over the block = 6 -> 7, 8 (transformers 5.23 would give s + max(h, w) = 4, 5)
    types = [0, 0, 2, 2, 2, 2, 2, 2, 0, 0]
    seg = VisualSegment(VIDEO, (3, 1, 2), (0, 2, 4))
    pos = mrope_position_ids(types, [seg])
    assert pos.tolist() == [
        [0, 1, 2, 2, 4, 4, 6, 6, 7, 8],
        [0, 1, 2, 2, 2, 2, 2, 2, 7, 8],
        [0, 1, 2, 3, 2, 3, 2, 3, 7, 8],
    ]


def test_spatial_larger_than_time_continues_after_width() -> None:
    # image grid (1, 2, 3) at s = 1: temporal 1, heights 1..2, widths 1..3 -> max 3 -> text at 4
    types = [0, 1, 1, 1, 1, 1, 1, 0]
    pos = mrope_position_ids(types, [VisualSegment(IMAGE, (1, 2, 3), (0,))])
    assert pos[:, -1].tolist() == [4, 4, 4]
    assert pos[2, 1:7].tolist() == [1, 2, 3, 1, 2, 3]
    assert pos[1, 1:7].tolist() == [1, 1, 1, 2, 2, 2]


def test_segment_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="expects 4 tokens"):
        mrope_position_ids([0, 2, 2, 0], [VisualSegment(VIDEO, (1, 2, 2), (0,))])
    with pytest.raises(ValueError, match="only 0 visual"):
        mrope_position_ids([0, 2], [])
    with pytest.raises(ValueError, match="temporal offsets"):
        VisualSegment(VIDEO, (2, 1, 1), (0,))


def test_time_aware_offsets_from_actual_times() -> None:
    # Qwen2.5-VL, tokens_per_second 2, frames at 1 fps from 0 s, temporal patch 2:
    # group starts 0, 2, 4, 6 s -> floor(t * 2) = 0, 4, 8, 12
    starts = group_start_times([0, 1, 2, 3, 4, 5, 6, 7], 2)
    assert starts == [0.0, 2.0, 4.0, 6.0]
    assert video_temporal_offsets(starts, time_aware=True, tokens_per_second=2) == [0, 4, 8, 12]
    # non-uniform (adaptive) sampling keeps the true times: starts 0, 0.5, 3.2 -> 0, 1, 6
    assert video_temporal_offsets([0.0, 0.5, 3.2], time_aware=True, tokens_per_second=2) == [0, 1, 6]
    # relative to the first frame by default: 10.0, 10.5 -> 0, 1; with origin 0 -> 20, 21
    assert video_temporal_offsets([10.0, 10.5], time_aware=True, tokens_per_second=2) == [0, 1]
    assert video_temporal_offsets([10.0, 10.5], time_aware=True, tokens_per_second=2, origin=0.0) == [20, 21]
    # float noise from decoded pts (2.9999999 s) must not lose a position: floor(5.9999998 + 1e-6) = 6
    assert video_temporal_offsets([0.0, 2.9999999], time_aware=True, tokens_per_second=2) == [0, 6]
    # Qwen2-VL: the patch index
    assert video_temporal_offsets([0.0, 7.0, 9.0], time_aware=False, tokens_per_second=2) == [0, 1, 2]


def test_collisions_when_sampling_faster_than_resolution() -> None:
    # 8 fps with temporal patch 2 -> groups 0.25 s apart; tokens_per_second 2 -> floor(0.25*2*g) = 0,0,1,1
    starts = [0.0, 0.25, 0.5, 0.75]
    offs = video_temporal_offsets(starts, time_aware=True, tokens_per_second=2)
    assert offs == [0, 0, 1, 1]
    assert temporal_collisions(offs, starts) == [(0, 1), (2, 3)]
    # 4 fps -> 0.5 s apart -> 0, 1, 2: no collision
    assert temporal_collisions([0, 1, 2], [0.0, 0.5, 1.0]) == []


def test_matches_stock_on_video_tokens_and_fixes_text_after(tiny_models: dict) -> None:
    """Qwen2.5-VL: video positions equal transformers' (given second_per_grid_ts); text after differs."""
    import numpy as np

    from tempoforge.models.inputs import build_example, collate
    from tempoforge.records import Frames

    lm = tiny_models["qwen2_5_vl"]
    frames = Frames(np.zeros((16, 56, 56, 3), np.uint8), np.arange(16) / 1.0)  # 16 s at 1 fps
    ex = build_example(lm, "q", frames, "mrope")
    batch = collate([ex], pad_token_id=lm.token_ids["pad"])
    stock, _ = lm.model.model.get_rope_index(
        batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"], video_grid_thw=batch["video_grid_thw"],
        second_per_grid_ts=batch["second_per_grid_ts"], attention_mask=batch["attention_mask"])
    ours = batch["position_ids"]
    vis = ex.mm_token_type_ids == 2
    assert torch.equal(ours[:, 0, vis], stock[:, 0, vis])
    # 8 groups (2 s each) at tokens_per_second 2 -> temporal offsets 0, 4, ..., 28; the grid is 2x2 merged
    # tokens, so transformers continues the text at s + 2 while the video's time positions reach s + 28.
    first_vis = int(vis.nonzero().min())
    s = int(ours[0, 0, first_vis])
    after = int(vis.nonzero().max()) + 1
    assert int(ours[0, 0, after]) == s + 28 + 1
    assert int(stock[0, 0, after]) == s + 2

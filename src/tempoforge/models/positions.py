"""M-RoPE position ids computed the original way, from the actual times of the sampled frames.

Qwen2-VL / Qwen2.5-VL / Qwen3-VL give every token three position ids ``(temporal, height, width)``. Text
tokens have all three equal and advance by one. A vision block with a merged grid ``(t, h, w)`` that
starts at the next free position ``s`` gets

    temporal = s + offset[g]        height = s + row       width = s + column

and the text after it continues at ``max(all three ids in the block) + 1``: the rule of the original
Qwen2-VL / Qwen2.5-VL implementations and of the worked example in the transformers PR that added
Qwen2.5-VL. transformers 5.23's ``get_rope_index`` instead continues at ``s + max(h, w)``, so when a
video's temporal ids run past its spatial size (any video longer than a few seconds) the question tokens
after the video overlap the video's time positions (DESIGN.md). We compute the original rule and pass
``position_ids`` explicitly; ``doctor`` reports the difference to the stock rule.

``offset[g]`` for temporal patch group ``g`` (frames ``g*T .. g*T+T-1``, ``T`` = temporal patch size):

- Qwen2.5-VL (time-aware M-RoPE): ``floor((time[g*T] - origin) * tokens_per_second)``. For uniform
  sampling at ``fps`` from ``origin`` this equals the stock ``floor(g * second_per_grid_t *
  tokens_per_second)`` with ``second_per_grid_t = T / fps``; with the actual (possibly non-uniform)
  decoded times it stays correct where a single ``second_per_grid_t`` cannot. Deviation: a ``1e-6``
  epsilon before the floor so that float noise in decoded times (4.999999 s) does not lose a position.
- Qwen2-VL and every block with ``t == 1``: ``g`` (the patch index).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "VisualSegment",
    "group_start_times",
    "mrope_position_ids",
    "temporal_collisions",
    "video_temporal_offsets",
]

TEXT, IMAGE, VIDEO = 0, 1, 2
_EPS = 1e-6


@dataclass(frozen=True)
class VisualSegment:
    """One contiguous vision block in the token sequence.

    ``grid`` is the LLM grid ``(t, h / merge, w / merge)``: the block has ``t * h * w`` tokens.
    ``temporal_offsets`` has one entry per ``t``; ``times`` (seconds) is kept for reports.
    """

    modality: int  # IMAGE or VIDEO (the ``mm_token_type_ids`` value)
    grid: tuple[int, int, int]
    temporal_offsets: tuple[int, ...]
    times: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.temporal_offsets) != self.grid[0]:
            raise ValueError(f"{len(self.temporal_offsets)} temporal offsets for a grid with t={self.grid[0]}")

    @property
    def num_tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w


def group_start_times(times: Sequence[float] | np.ndarray, temporal_patch_size: int) -> list[float]:
    """Time of the first frame of each temporal patch group (frames ``g*T .. g*T+T-1``)."""
    t = np.asarray(times, dtype=np.float64)
    return [float(x) for x in t[::temporal_patch_size]]


def video_temporal_offsets(group_times: Sequence[float], *, time_aware: bool, tokens_per_second: float,
                           origin: float | None = None) -> list[int]:
    """Temporal offsets of a video's patch groups (module docstring). ``origin`` defaults to the first."""
    if not time_aware:
        return list(range(len(group_times)))
    if not group_times:
        return []
    o = group_times[0] if origin is None else origin
    return [math.floor((t - o) * tokens_per_second + _EPS) for t in group_times]


def temporal_collisions(offsets: Sequence[int], group_times: Sequence[float]) -> list[tuple[int, int]]:
    """Pairs of consecutive groups with different times but the same temporal id (lost time resolution).

    Time-aware M-RoPE resolves ``1 / tokens_per_second`` seconds; groups closer than that (sampling
    faster than ``tokens_per_second * temporal_patch_size`` fps) collapse onto one temporal position.
    """
    return [(i, i + 1) for i in range(len(offsets) - 1)
            if offsets[i] == offsets[i + 1] and group_times[i + 1] > group_times[i] + _EPS]


def mrope_position_ids(token_types: Sequence[int] | torch.Tensor, segments: Sequence[VisualSegment]) -> torch.Tensor:
    """``(3, L)`` position ids for one unpadded sequence (rule in the module docstring).

    ``token_types`` is the ``mm_token_type_ids`` row (0 text, 1 image, 2 video); ``segments`` are the
    vision blocks in order. Raises ``ValueError`` when the tokens and the segments disagree.
    """
    types = torch.as_tensor(token_types, dtype=torch.long).tolist()
    n = len(types)
    out = torch.empty(3, n, dtype=torch.long)
    pos, i, k = 0, 0, 0
    while i < n:
        if types[i] == TEXT:
            j = i
            while j < n and types[j] == TEXT:
                j += 1
            out[:, i:j] = torch.arange(pos, pos + j - i)
            pos += j - i
            i = j
            continue
        if k >= len(segments):
            raise ValueError(f"vision token at index {i} but only {len(segments)} visual segment(s) given")
        seg = segments[k]
        k += 1
        m = seg.num_tokens
        if types[i:i + m] != [seg.modality] * m:
            raise ValueError(f"visual segment {k - 1} expects {m} tokens of type {seg.modality} at index {i}")
        t, h, w = seg.grid
        tt = torch.tensor(seg.temporal_offsets, dtype=torch.long).view(t, 1, 1).expand(t, h, w)
        hh = torch.arange(h).view(1, h, 1).expand(t, h, w)
        ww = torch.arange(w).view(1, 1, w).expand(t, h, w)
        block = torch.stack([tt.reshape(-1), hh.reshape(-1), ww.reshape(-1)]) + pos
        out[:, i:i + m] = block
        pos = int(block.max()) + 1
        i += m
    if k != len(segments):
        raise ValueError(f"{len(segments)} visual segments given but the tokens hold only {k}")
    return out

"""Log-probabilities a model assigns to text, from its logits: the math every scorer, trainer and the
evidence head share.

- ``token_logps``: ``log softmax(logits)[target]`` per position;
- ``sequence_logps``: their sum over the labelled (answer) positions of each sequence;
- ``truncate_to_prompt``: an example cut to its prompt (the prefix that several continuations share).

Scoring several continuations of one encoded prefix (``shared_prefix_logps``) is in ``train/logps.py``.
"""

from __future__ import annotations

import torch

from tempoforge.models.inputs import IGNORE_INDEX, Example

__all__ = ["sequence_logps", "token_logps", "truncate_to_prompt"]


def token_logps(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``log softmax(logits)[target]`` per position (float32), ``targets`` clamped where they are ignored."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return torch.gather(logp, -1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of next-token log-probs over the labelled positions, and their count, per sequence.

    ``logits`` (B, L, V) from a full forward, ``labels`` (B, L) with ``-100`` outside the answer.
    """
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    lp = token_logps(logits[:, :-1], targets) * mask
    return lp.sum(-1), mask.sum(-1)


def truncate_to_prompt(e: Example) -> Example:
    """The prompt part of an example (its first ``prompt_length`` tokens, no labels), vision inputs kept."""
    p = e.prompt_length
    return Example(
        input_ids=e.input_ids[:p], mm_token_type_ids=e.mm_token_type_ids[:p], position_ids=e.position_ids[:, :p],
        labels=None, prompt_length=p, pixel_values_videos=e.pixel_values_videos, video_grid_thw=e.video_grid_thw,
        second_per_grid_ts=e.second_per_grid_ts, pixel_values=e.pixel_values, image_grid_thw=e.image_grid_thw,
        frame_times=e.frame_times, strategy=e.strategy, segments=e.segments,
    )

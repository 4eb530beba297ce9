"""GRPO rewards, one file per family, registered by name (DESIGN.md principles 4, 8, 9).

Every reward is a plain function ``(completions: list[str], **sample_fields) -> list[float]`` (TRL's
reward-function convention: each sample field is a list aligned with ``completions``; see ``_fields``),
built on the evaluation's parser (:func:`tempoforge.eval.parsing.parse_spans`) and IoU
(:mod:`tempoforge.eval.metrics.iou`) — there is no second copy of either.

==================  ===============================================================  ==============
name                reward                                                           file
==================  ===============================================================  ==============
``format``          1 for ``<think>...</think><answer>...</answer>``                 ``format.py``
``iou``             tIoU of the first stated span with the best GT span              ``grounding.py``
``iou_penalty``     ``IoU * (1 - |ds|/D) * (1 - |de|/D)``                            ``grounding.py``
``refusal``         PIR-GRPO: IoU / 0 / 0 / 1 (relevant+span, relevant+none,         ``refusal.py``
                    irrelevant+span, irrelevant refused)
``refusal_penalty`` the same with the penalised IoU                                  ``refusal.py``
``multispan``       greedy one-to-one IoU matching / max(#pred, #GT)                 ``multispan.py``
==================  ===============================================================  ==============

Adding a reward: write the function in its family's file (or a new one), add it to ``REWARDS``, test it
with hand-computed values in ``tests/tempo_r0/test_tempo_r0_rewards.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tempoforge.errors import UserError
from tempoforge.train.rewards.format import format_reward
from tempoforge.train.rewards.grounding import iou_penalty_reward, iou_reward
from tempoforge.train.rewards.multispan import multispan_reward
from tempoforge.train.rewards.refusal import refusal_penalty_reward, refusal_reward

__all__ = ["REWARDS", "RewardFn", "compute_rewards", "format_reward", "get_reward", "iou_penalty_reward",
           "iou_reward", "multispan_reward", "refusal_penalty_reward", "refusal_reward"]

RewardFn = Callable[..., list[float]]

REWARDS: dict[str, RewardFn] = {
    "format": format_reward,
    "iou": iou_reward,
    "iou_penalty": iou_penalty_reward,
    "refusal": refusal_reward,
    "refusal_penalty": refusal_penalty_reward,
    "multispan": multispan_reward,
}


def get_reward(name: str) -> RewardFn:
    """The registered reward ``name`` (a :class:`UserError` listing the known names)."""
    try:
        return REWARDS[name]
    except KeyError:
        raise UserError(f"unknown reward {name!r}; known: {', '.join(REWARDS)}") from None


def compute_rewards(rewards: Sequence[str | RewardFn], completions: list[str], weights: Sequence[float] | None = None,
                    **sample_fields: Any) -> tuple[list[float], dict[str, list[float]]]:
    """Weighted sum of several rewards per completion, and each reward's own values by name.

    ``rewards`` are registered names or callables (named by ``__name__``); ``weights`` default to 1.
    Each reward must return one finite float per completion.
    """
    import math

    if weights is not None and len(weights) != len(rewards):
        raise UserError(f"{len(weights)} reward weights for {len(rewards)} rewards")
    total = [0.0] * len(completions)
    parts: dict[str, list[float]] = {}
    for k, r in enumerate(rewards):
        fn = get_reward(r) if isinstance(r, str) else r
        name = r if isinstance(r, str) else getattr(r, "__name__", f"reward{k}")
        values = [float(v) for v in fn(completions, **sample_fields)]
        if len(values) != len(completions) or not all(math.isfinite(v) for v in values):
            raise ValueError(f"reward {name!r} must return one finite value per completion")
        parts[name] = values
        w = 1.0 if weights is None else float(weights[k])
        total = [t + w * v for t, v in zip(total, values, strict=True)]
    return total, parts

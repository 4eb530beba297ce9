"""Refusal-aware grounding reward of PIR-GRPO (Tempo-R0, METHODS.md 4).

==================  ============================  ======
query               completion                    reward
==================  ============================  ======
relevant            states a span                 IoU (``iou`` or ``iou_penalty`` variant)
relevant            no span (refusal, garbage)    0
irrelevant          states a span                 0
irrelevant          refuses                       1
==================  ============================  ======

"States a span" and "refuses" are decided by :func:`tempoforge.eval.parsing.parse_spans` — the parser of
the ``strict`` scorer, whose refusal accuracy this reward optimises: a span anywhere in the answer wins
over refusal words. Deviation, stated: only an explicit refusal (parse status ``"refusal"``) earns the 1;
an empty or unparseable answer to an irrelevant query earns 0, although the ``strict`` scorer counts an
empty answer as refused — rewarding silence would teach the policy to stop answering.

A query is irrelevant when the ``relevant`` field says so, or (without that field) when it has no GT span.
A relevant query without GT spans cannot be scored and is an error.
"""

from __future__ import annotations

from typing import Any

from tempoforge.train.rewards._fields import field_list, gt_windows, parse_all
from tempoforge.train.rewards.grounding import best_iou, penalised_iou

__all__ = ["refusal_penalty_reward", "refusal_reward"]


def _refusal(completions: list[str], penalty: bool, fields: dict[str, Any]) -> list[float]:
    n = len(completions)
    spans = field_list(fields, "spans", n, [])
    relevant = field_list(fields, "relevant", n, None)
    durations = field_list(fields, "duration", n, None)
    out = []
    for i, res in enumerate(parse_all(completions, fields)):
        gts = gt_windows(spans[i])
        rel = bool(gts) if relevant[i] is None else bool(relevant[i])
        if rel and not gts:
            raise ValueError(f"completion {i}: a relevant query needs ground-truth spans for the refusal reward")
        if not rel:
            out.append(1.0 if res.status == "refusal" else 0.0)
        elif not res.windows:
            out.append(0.0)
        elif penalty:
            out.append(penalised_iou(res.windows[0], gts, durations[i]))
        else:
            out.append(best_iou(res.windows[0], gts)[0])
    return out


def refusal_reward(completions: list[str], **sample_fields: Any) -> list[float]:
    """PIR-GRPO reward with the plain IoU for relevant queries (table in the module docstring)."""
    return _refusal(completions, False, sample_fields)


def refusal_penalty_reward(completions: list[str], **sample_fields: Any) -> list[float]:
    """PIR-GRPO reward with the boundary-penalised IoU ``IoU * (1 - |ds|/D) * (1 - |de|/D)``."""
    return _refusal(completions, True, sample_fields)

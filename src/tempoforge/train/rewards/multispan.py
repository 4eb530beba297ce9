"""Multi-span grounding reward (QVHighlights-style queries with several GT moments).

Every span the completion states (``parse_spans(...).windows``) is matched one-to-one to the GT spans,
greedily by decreasing :func:`tempoforge.eval.metrics.iou.temporal_iou_matrix` (ties: earlier prediction,
then earlier GT); pairs with IoU 0 are never matched. The reward is

    sum of matched IoUs / max(#predicted, #GT)

so a missing moment and a spurious extra one cost the same, and one perfect span out of two GT moments
scores 0.5. No span, or no GT, scores 0. Deviation, stated: Tempo-R0 does not define a multi-span reward;
greedy matching (not Hungarian) is used because it is what the moment-retrieval scorers' per-threshold
matching does and is exact for the few spans an answer holds in practice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tempoforge.eval.metrics.iou import temporal_iou_matrix
from tempoforge.train.rewards._fields import field_list, gt_windows, parse_all

__all__ = ["matched_iou", "multispan_reward"]


def matched_iou(preds: list[tuple[float, float]], gts: list[tuple[float, float]]) -> float:
    """Greedy one-to-one IoU matching score ``sum(IoU of matched pairs) / max(len(preds), len(gts))``."""
    if not preds or not gts:
        return 0.0
    m = temporal_iou_matrix(np.asarray(preds, dtype=np.float64), np.asarray(gts, dtype=np.float64))
    order = sorted(((float(m[i, j]), i, j) for i in range(len(preds)) for j in range(len(gts))),
                   key=lambda x: (-x[0], x[1], x[2]))
    used_p: set[int] = set()
    used_g: set[int] = set()
    total = 0.0
    for v, i, j in order:
        if v <= 0.0:
            break
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        total += v
    return total / max(len(preds), len(gts))


def multispan_reward(completions: list[str], **sample_fields: Any) -> list[float]:
    """:func:`matched_iou` of every stated span against every GT span of the sample."""
    spans = field_list(sample_fields, "spans", len(completions), [])
    return [matched_iou(list(res.windows), gt_windows(gt)) for res, gt in zip(parse_all(completions, sample_fields), spans, strict=True)]

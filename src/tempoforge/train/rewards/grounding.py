"""Grounding rewards for a relevant query: temporal IoU, and IoU with boundary penalties (METHODS.md 4).

Both read the completion with the evaluation's parser (:func:`tempoforge.eval.parsing.parse_spans`; only the
last ``<answer>`` block when there is one) and take its FIRST stated span, normalised to ``start <= end``
— exactly what the ``strict`` grounding scorer scores, so the reward optimises the reported metric.

- ``iou``: ``max_g temporal_iou(pred, g)`` over the ground-truth spans ``g`` of the sample
  (:func:`tempoforge.eval.metrics.iou.temporal_iou`: float64 union IoU, two zero-length windows -> 0).
- ``iou_penalty``: ``IoU * (1 - |ds| / D) * (1 - |de| / D)`` with ``ds = pred_start - gt_start``,
  ``de = pred_end - gt_end`` and ``D`` the video duration, against the GT span with the highest IoU
  (ties: the first). Each factor is clipped at 0 (a boundary more than ``D`` away would otherwise flip the
  sign). Without a duration the factors are 1 (plain IoU) — deviation, stated: Tempo-R0 assumes ``D``.

A completion without a span (unparseable, empty, a refusal) scores 0; so does every completion of a sample
without ground truth (an irrelevant query: use the ``refusal`` reward for those).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tempoforge.eval.metrics.iou import temporal_iou
from tempoforge.train.rewards._fields import field_list, gt_windows, parse_all

__all__ = ["best_iou", "iou_penalty_reward", "iou_reward", "penalised_iou"]


def best_iou(pred: tuple[float, float], gts: list[tuple[float, float]]) -> tuple[float, int]:
    """The highest ``temporal_iou`` of ``pred`` with any GT span, and that span's index (-1 without GT)."""
    if not gts:
        return 0.0, -1
    ious = temporal_iou(np.asarray([pred] * len(gts), dtype=np.float64), np.asarray(gts, dtype=np.float64))
    k = int(np.argmax(ious))
    return float(ious[k]), k


def penalised_iou(pred: tuple[float, float], gts: list[tuple[float, float]], duration: float | None) -> float:
    """``IoU * (1 - |ds|/D) * (1 - |de|/D)`` against the best-matching GT span (factors clipped at 0)."""
    iou, k = best_iou(pred, gts)
    if k < 0 or iou == 0.0 or not duration or duration <= 0:
        return iou
    gs, ge = gts[k]
    fs = max(0.0, 1.0 - abs(pred[0] - gs) / duration)
    fe = max(0.0, 1.0 - abs(pred[1] - ge) / duration)
    return iou * fs * fe


def iou_reward(completions: list[str], **sample_fields: Any) -> list[float]:
    """Temporal IoU of the completion's first span with the sample's best-matching GT span (0 without one)."""
    spans = field_list(sample_fields, "spans", len(completions), [])
    out = []
    for res, gt in zip(parse_all(completions, sample_fields), spans, strict=True):
        out.append(best_iou(res.windows[0], gt_windows(gt))[0] if res.windows else 0.0)
    return out


def iou_penalty_reward(completions: list[str], **sample_fields: Any) -> list[float]:
    """IoU with Tempo-R0's boundary penalties ``IoU * (1 - |ds|/D) * (1 - |de|/D)``."""
    n = len(completions)
    spans = field_list(sample_fields, "spans", n, [])
    durations = field_list(sample_fields, "duration", n, None)
    out = []
    for res, gt, d in zip(parse_all(completions, sample_fields), spans, durations, strict=True):
        out.append(penalised_iou(res.windows[0], gt_windows(gt), d) if res.windows else 0.0)
    return out

"""D2VLM evaluation: the evidence part's F1, and the answer part under E.T. Bench's F1 (``etbench.py``).

Evidence-part F1 (ours; D2VLM reports only task metrics): per sample, the evidence spans ``P`` against
the ground-truth spans ``G`` with the ONE union IoU (``iou.iou_union_matrix``); at threshold ``t``

    precision = #{p in P : max_g IoU(p, g) >= t} / |P|       recall = #{g in G : max_p IoU(p, g) >= t} / |G|
    F1_t      = 2 precision recall / (precision + recall)     (0 when both are 0, or P or G is empty)

— E.T. Bench's TAL rule without its float32 rounding — averaged over samples, then over the thresholds
0.1 / 0.3 / 0.5 / 0.7. A sample without predicted evidence counts 0 (in the denominator).

Answer part: grounding predictions become E.T. Bench ``tvg`` samples (first GT window as ``tgt``) and
dense-captioning predictions ``dvc`` samples (all events, their captions); ``score_etbench`` parses the
detokenised answers exactly as the official ``compute_metrics.py`` does. ``F1@0.5`` / ``F1@0.7`` of
``tvg`` are R@1 at IoU 0.5 / 0.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tempoforge.eval.metrics.etbench import IOU_THRESHOLDS, score_etbench
from tempoforge.eval.metrics.iou import iou_union_matrix
from tempoforge.records import Prediction

__all__ = ["evidence_f1", "sample_evidence_f1", "score_evidence_predictions", "to_etbench"]

Windows = Sequence[Sequence[float]]


def sample_evidence_f1(pred: Windows, gt: Windows, thresholds: Sequence[float] = IOU_THRESHOLDS) -> list[float]:
    """F1 of one sample's evidence spans at each threshold (module docstring)."""
    if len(pred) == 0 or len(gt) == 0:
        return [0.0] * len(thresholds)
    iou = np.nan_to_num(iou_union_matrix(pred, gt), nan=0.0)  # (P, G); 0/0 (two empty windows) is no hit
    out = []
    for t in thresholds:
        prc = float(np.mean(iou.max(axis=1) >= t))
        rec = float(np.mean(iou.max(axis=0) >= t))
        out.append(0.0 if prc + rec == 0 else 2 * prc * rec / (prc + rec))
    return out


def evidence_f1(preds: Sequence[Windows], gts: Sequence[Windows],
                thresholds: Sequence[float] = IOU_THRESHOLDS) -> dict[str, float]:
    """``{"F1@0.1": ..., ..., "F1": mean over thresholds}`` averaged over samples."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} ground truths")
    if not preds:
        raise ValueError("no samples to score")
    per = np.array([sample_evidence_f1(p, g, thresholds) for p, g in zip(preds, gts)])
    means = per.mean(axis=0)
    out = {f"F1@{t}": float(m) for t, m in zip(thresholds, means)}
    out["F1"] = float(means.mean())
    return out


def to_etbench(pred: Prediction, task: str) -> dict[str, Any]:
    """An E.T. Bench prediction record (``task`` ``tvg`` or ``dvc``) from a D2VLM prediction."""
    gt = pred.gt_windows()
    rec: dict[str, Any] = {"task": task, "source": pred.benchmark, "a": pred.answer, "video": pred.video or pred.id}
    if task == "tvg":
        rec["tgt"] = gt[0]
    elif task == "dvc":
        rec["tgt"] = gt
        rec["g"] = list(pred.meta.get("gt_captions", []))
        rec["video"] = pred.id
    else:
        raise ValueError(f"task must be tvg or dvc, got {task!r}")
    return rec


def score_evidence_predictions(grounding: Sequence[Prediction] = (), dense: Sequence[Prediction] = ()) -> dict[str, Any]:
    """E.T. Bench TVG / DVC F1 of the answers and the evidence-part F1 of each task, as fractions."""
    out: dict[str, Any] = {}
    for name, preds, task in (("grounding", grounding, "tvg"), ("dense", dense, "dvc")):
        if not preds:
            continue
        et = score_etbench([to_etbench(p, task) for p in preds], sentsim=None)["per_source"][task]
        res = next(iter(et.values())) if len(et) == 1 else et
        ev = evidence_f1([p.meta.get("evidence_spans", []) for p in preds], [p.gt_windows() for p in preds])
        out[name] = {"etbench": res, "evidence": ev, "n": len(preds)}
    return out

"""Dense video captioning localisation, as ActivityNet ``densevid_eval`` (PDVC's ``evaluate2018.py``).

METRICS.md section 3, ``evaluate_detection``:

- tIoU = ``inter / (min(hull, len1 + len2) + 1e-8)`` (:func:`tiou_densevid_matrix`); thresholds
  0.3/0.5/0.7/0.9 by default; only the first ``max_proposals`` (1000) predictions of a video are used.
- For each GT video and each reference file that contains it: a prediction is *covered* if its tIoU with
  any GT event is strictly ``> t``; a GT event is covered if any prediction has ``> t`` with it (no
  one-to-one matching: duplicates all count). precision = covered predictions / predictions, recall =
  covered events / events; the video keeps its best precision and its best recall over reference files,
  independently.
- Precision and recall at ``t`` are means over GT videos (the union of the reference files); predicted
  videos absent from GT are ignored; a GT video without predictions scores 0/0.

:func:`densevid_precision_recall` is the same rule on the densevid JSON layout (``{video: {"timestamps",
"sentences"}}`` and ``{video: [{"timestamp", "sentence"}]}``) with one reference file, as E.T.Bench's DVC/SLC
scorer calls it.

Derived values (not computed by the official script, which prints P and R averaged over thresholds x100):
``F1`` per threshold from that threshold's P and R, and ``F1["average"] = 2PR/(P+R)`` of the
threshold-averaged P and R (how downstream papers report it); 0 when ``P + R = 0``.

Documented values instead of crashes: an empty prediction list (the official code reuses the previous
video's loop index as denominator, crashing when it is the first video) scores precision 0 and recall 0,
exactly its output otherwise; a reference video with no events (ZeroDivisionError upstream) gives recall 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tempoforge.eval.metrics.iou import tiou_densevid_matrix

__all__ = ["DEFAULT_TIOUS", "MAX_PROPOSALS", "densevid_detection", "densevid_precision_recall", "f1_from_pr",
           "video_precision_recall"]

DEFAULT_TIOUS: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)
MAX_PROPOSALS = 1000

Windows = Sequence[tuple[float, float]] | Sequence[Sequence[float]]


def f1_from_pr(p: float, r: float) -> float:
    """Harmonic mean ``2PR / (P + R)``, 0 when ``P + R = 0``."""
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def video_precision_recall(
    pred: Windows, refs: Sequence[Windows], tious: Sequence[float] = DEFAULT_TIOUS
) -> tuple[np.ndarray, np.ndarray]:
    """Best precision and best recall of one video over its reference files, each ``(T,)``.

    ``pred`` are the (already truncated) predicted windows, ``refs`` the GT windows of each reference file
    that contains the video.
    """
    thr = np.asarray(tious, dtype=np.float64)[:, None, None]
    best_p = np.zeros(len(tious))
    best_r = np.zeros(len(tious))
    for gt in refs:
        if len(gt) == 0 or len(pred) == 0:
            continue  # documented values: 0 (see module docstring)
        hit = tiou_densevid_matrix(pred, gt)[None] > thr  # (T, P, G), strict
        best_p = np.maximum(best_p, hit.any(axis=2).mean(axis=1))
        best_r = np.maximum(best_r, hit.any(axis=1).mean(axis=1))
    return best_p, best_r


def densevid_detection(
    preds: Mapping[str, Windows],
    refs: Sequence[Mapping[str, Windows]],
    tious: Sequence[float] = DEFAULT_TIOUS,
    max_proposals: int | None = MAX_PROPOSALS,
) -> dict[str, Any]:
    """Precision / recall / F1 at each tIoU and averaged, as fractions (multiply by 100 to print).

    ``preds``: ``{video: [[s, e], ...]}`` in submission order; ``refs``: one ``{video: [[s, e], ...]}`` per
    reference file. Returns ``{"Precision": {"0.3": p, ..., "average": p}, "Recall": {...}, "F1": {...},
    "num_videos": n}``.
    """
    videos = sorted({v for ref in refs for v in ref})
    if not videos:
        raise ValueError("the reference files contain no video")
    p_sum = np.zeros(len(tious))
    r_sum = np.zeros(len(tious))
    for v in videos:
        pred = list(preds.get(v, []))
        if max_proposals is not None:
            pred = pred[:max_proposals]
        p, r = video_precision_recall(pred, [ref[v] for ref in refs if v in ref], tious)
        p_sum += p
        r_sum += r
    prec = p_sum / len(videos)
    rec = r_sum / len(videos)
    keys = [str(t) for t in tious]
    out: dict[str, Any] = {
        "Precision": dict(zip(keys, map(float, prec))),
        "Recall": dict(zip(keys, map(float, rec))),
        "F1": {k: f1_from_pr(float(p), float(r)) for k, p, r in zip(keys, prec, rec)},
    }
    out["Precision"]["average"] = float(np.mean(prec))
    out["Recall"]["average"] = float(np.mean(rec))
    out["F1"]["average"] = f1_from_pr(out["Precision"]["average"], out["Recall"]["average"])
    out["num_videos"] = len(videos)
    return out


def densevid_precision_recall(
    ground_truth: Mapping[str, Mapping[str, Any]],
    predictions: Mapping[str, Sequence[Mapping[str, Any]]],
    tiou: float,
    max_proposals: int = MAX_PROPOSALS,
) -> tuple[float, float]:
    """:func:`densevid_detection` at one tIoU with one reference, on the densevid JSON layout: mean (precision,
    recall) over the GT videos of ``ground_truth``."""
    preds = {v: [p["timestamp"] for p in ps] for v, ps in predictions.items()}
    refs = {v: g["timestamps"] for v, g in ground_truth.items()}
    det = densevid_detection(preds, [refs], (tiou,), max_proposals)
    return det["Precision"][str(tiou)], det["Recall"][str(tiou)]

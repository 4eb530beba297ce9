"""E.T. Bench ``compute_metrics.py`` for tasks tvg, epm, tem, tal, evs, vhd, dvc, slc (METRICS.md section 4).

Samples are the official prediction records: ``task``, ``source``, ``a`` (the raw answer), ``tgt`` (GT
windows; per annotator for VHD), ``g`` (GT captions, DVC/SLC) and ``video`` (DVC/SLC). They are grouped
by ``(task, source)``, each group scored by its task's rule, and a task's score is the mean over its
sources. Values are rounded to 5 decimals like the original; the summary multiplies by 100 and rounds to
1 decimal. Key names are the official ones (``F1@0.1``, ``mIoU``, ``R@0.5``, ``mRec``, ``SentSim``...).

Per task (all windows from :func:`~tempoforge.eval.parsers_official.parse_etbench_tvg` unless noted):

- tvg, epm: first window; float32 union IoU (``0.7`` -> ``0.69999999``); ``F1@t`` = #(IoU >= t) / #samples
  (really recall@1); unparseable answers stay in the denominator and count as ``Failed``.
- tem: first window, IoU = max over the GT windows; ``R@t`` and ``mRec``.
- tal: IoU matrix GT x predictions; per t, F1 = 0 when max IoU < t, else the harmonic mean of recall (GT with
  best IoU >= t) and precision (predictions with best IoU >= t, so duplicates do not hurt), both float32
  means as in torch; summed over samples / #samples.
- evs: 1000 one-second bins, first bin ``max(0, round(s))``, last ``round(e) - 1`` (Python's banker's
  rounding, slice semantics kept); per-sample F1 averaged over PARSED samples only.
- vhd: the first signed number of the raw answer; a hit if inside any GT window of any annotator, ends
  inclusive; ``F1`` = hits / #samples.
- dvc, slc: :func:`~tempoforge.eval.parsers_official.parse_etbench_dvc`; densevid detection P/R (strict
  ``>``, first 1000 predictions) over parsed samples, both multiplied by ``#parsed videos / #samples``
  before ``F1@t`` (:func:`~tempoforge.eval.metrics.densevid.densevid_precision_recall`); caption metrics
  from an injected ``caption_scorer`` and SentSim (all-MiniLM-L6-v2, :mod:`~tempoforge.eval.metrics.captions`).

Documented values instead of the original's crashes: TAL with precision + recall = 0 (only reachable with
NaN IoUs) scores 0; a DVC GT video without windows has recall 0. NaN IoUs (two zero-length windows) are
kept, as the original keeps them (they make ``mIoU`` NaN and are never a hit). Tasks outside this list
(rar, eca, rvq, gvq) are counted under ``"unsupported"`` and not scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tempoforge.errors import UserError
from tempoforge.eval.metrics.captions import SentSim, load_sentsim, sentsim_score
from tempoforge.eval.metrics.densevid import densevid_precision_recall
from tempoforge.eval.metrics.iou import iou_union_f32_matrix
from tempoforge.eval.parsers_official import (
    parse_etbench_dvc,
    parse_etbench_tvg,
    parse_etbench_vhd,
)

__all__ = [
    "CAPTION_KEYS",
    "GROUNDING_TASKS",
    "IOU_THRESHOLDS",
    "CaptionScorer",
    "score_etbench",
]

IOU_THRESHOLDS = (0.1, 0.3, 0.5, 0.7)
GROUNDING_TASKS = ("tvg", "epm", "tal", "evs", "vhd")
CAPTION_KEYS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
SUPPORTED = ("tvg", "epm", "tem", "tal", "evs", "vhd", "dvc", "slc")

CaptionScorer = Callable[
    [dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]], Sequence[float]], Mapping[str, Any]
]
"""``scorer(ground_truth, predictions, tious) -> {metric: [value per tIoU] | mean | None}``.

``ground_truth``: ``{video: {"timestamps": [[s, e], ...], "sentences": [...]}}``; ``predictions``:
``{video: [{"timestamp": [s, e], "sentence": str}, ...]}`` — the densevid_eval layout. Values are the
densevid caption scores (>= t pairing, garbage strings for unmatched predictions, mean over GT videos).
"""

def _r5(x: float) -> float:
    return round(x, 5)


def _iou_f32(gt: Sequence[Sequence[float]], pred: Sequence[Sequence[float]]) -> np.ndarray:
    """``nncore.ops.temporal_iou(torch.Tensor(gt), torch.Tensor(pred))`` widened to float64, (G, P)."""
    return iou_union_f32_matrix(gt, pred).astype(np.float64)


def _recall_at(samples: list[dict[str, Any]], multi_gt: bool) -> tuple[list[int], float, int]:
    hit = [0] * len(IOU_THRESHOLDS)
    sum_iou, failed = 0.0, 0
    for sample in samples:
        pred = parse_etbench_tvg(str(sample.get("a", "")))
        if pred is None:
            failed += 1
            continue
        gt = sample["tgt"] if multi_gt else [sample["tgt"]]
        iou = float(np.max(_iou_f32(gt, [pred[0]])))  # np.max propagates NaN like torch .max()
        sum_iou += iou
        for i, t in enumerate(IOU_THRESHOLDS):
            if iou >= t:
                hit[i] += 1
    return hit, sum_iou, failed


def _recall_table(samples: list[dict[str, Any]], *, multi_gt: bool, prefix: str, mean_key: str) -> dict[str, Any]:
    """``Total Failed mIoU {prefix}@t ... {mean_key}``: recall@1 per threshold and their mean."""
    hit, sum_iou, failed = _recall_at(samples, multi_gt=multi_gt)
    recall = [h / len(samples) for h in hit]
    out: dict[str, Any] = {"Total": len(samples), "Failed": failed, "mIoU": _r5(sum_iou / len(samples))}
    for rec, t in zip(recall, IOU_THRESHOLDS):
        out[f"{prefix}@{t}"] = _r5(rec)
    out[mean_key] = _r5(sum(recall) / len(recall))
    return out


def tvg_eval(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """TVG / EPM: ``Total Failed mIoU F1@0.1 F1@0.3 F1@0.5 F1@0.7 F1`` ("F1" is really recall@1)."""
    return _recall_table(samples, multi_gt=False, prefix="F1", mean_key="F1")


def tem_eval(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """TEM: ``Total Failed mIoU R@0.1 ... R@0.7 mRec`` with IoU = max over GT windows."""
    return _recall_table(samples, multi_gt=True, prefix="R", mean_key="mRec")


def _f32_mean(mask: np.ndarray) -> float:
    return float(np.float32(np.count_nonzero(mask)) / np.float32(mask.size))


def tal_eval(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """TAL: ``Total Failed F1@0.1 ... F1@0.7 F1`` (per-sample detection F1, duplicates not penalised)."""
    f1 = [0.0] * len(IOU_THRESHOLDS)
    failed = 0
    for sample in samples:
        pred = parse_etbench_tvg(str(sample.get("a", "")))
        if pred is None:
            failed += 1
            continue
        iou = _iou_f32(sample["tgt"], pred)
        top = float(np.max(iou))
        for i, t in enumerate(IOU_THRESHOLDS):
            if top < t:
                continue
            rec = _f32_mean(np.max(iou, axis=1) >= t)
            prc = _f32_mean(np.max(iou, axis=0) >= t)
            f1[i] += 0.0 if prc + rec == 0 else 2 * prc * rec / (prc + rec)
    f1 = [f / len(samples) for f in f1]
    out: dict[str, Any] = {"Total": len(samples), "Failed": failed}
    for v, t in zip(f1, IOU_THRESHOLDS):
        out[f"F1@{t}"] = _r5(v)
    out["F1"] = _r5(sum(f1) / len(f1))
    return out


def _bins(windows: Sequence[Sequence[float]]) -> np.ndarray:
    """1000 one-second bins; ``[max(0, round(s)) : round(e)]`` with Python rounding and slicing."""
    out = np.zeros(1000, dtype=bool)
    for w in windows:
        out[max(0, round(w[0])) : round(w[1])] = True
    return out


def evs_eval(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """EVS: ``Total Failed F1``; the mean is over PARSED samples only (0 when none parsed)."""
    scores: list[float] = []
    failed = 0
    for sample in samples:
        pred = parse_etbench_tvg(str(sample.get("a", "")))
        if pred is None:
            failed += 1
            continue
        g, p = _bins(sample["tgt"]), _bins(pred)
        tp = int(np.count_nonzero(g & p))
        fp = int(np.count_nonzero(p & ~g))
        fn = int(np.count_nonzero(g & ~p))
        if tp == 0:
            scores.append(0.0)
        else:
            rec, prc = tp / (tp + fn), tp / (tp + fp)
            scores.append(2 * prc * rec / (prc + rec))
    return {"Total": len(samples), "Failed": failed, "F1": _r5(sum(scores) / len(scores)) if scores else 0}


def vhd_eval(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """VHD: ``Total Failed F1`` — first signed number inside any annotator's GT window (inclusive)."""
    hit, failed = 0, 0
    for sample in samples:
        gt = sample["tgt"]
        if not isinstance(gt[0][0], (list, tuple)):
            gt = [gt]
        t = parse_etbench_vhd(str(sample.get("a", "")))
        if t is None:
            failed += 1
            continue
        if any(w[0] <= t <= w[1] for annotator in gt for w in annotator):
            hit += 1
    return {"Total": len(samples), "Failed": failed, "F1": _r5(hit / len(samples))}


def dvc_eval(
    samples: list[dict[str, Any]],
    caption_scorer: CaptionScorer | None = None,
    sentsim: SentSim | None = None,
) -> dict[str, Any]:
    """DVC / SLC: ``Total Failed F1@0.1 ... F1@0.7 F1`` and caption metrics (``None`` = unavailable)."""
    gt: dict[str, dict[str, Any]] = {}
    pred: dict[str, list[dict[str, Any]]] = {}
    failed = 0
    for sample in samples:
        times, caps = parse_etbench_dvc(str(sample.get("a", "")))
        if times is None or caps is None:
            failed += 1
            continue
        vid = str(sample["video"])  # keyed by video: a repeated video overwrites, as in the original
        gt[vid] = {"timestamps": sample["tgt"], "sentences": sample["g"]}
        pred[vid] = [{"sentence": c, "timestamp": w} for w, c in zip(times, caps)]
    scale = len(pred) / len(samples)
    out: dict[str, Any] = {"Total": len(samples), "Failed": failed}
    f1s = []
    for t in IOU_THRESHOLDS:
        prc, rec = densevid_precision_recall(gt, pred, t) if gt else (0.0, 0.0)
        prc, rec = prc * scale, rec * scale
        f1 = 0.0 if prc + rec == 0 else 2 * prc * rec / (prc + rec)
        out[f"F1@{t}"] = _r5(f1)
        f1s.append(f1)
    out["F1"] = _r5(sum(f1s) / len(f1s))
    captions: Mapping[str, Any] = caption_scorer(gt, pred, IOU_THRESHOLDS) if (caption_scorer and gt) else {}
    for key in CAPTION_KEYS:
        value = captions.get(key) if caption_scorer else None
        out[key] = 0 if (caption_scorer and not gt) else _mean_or_none(value)
    if sentsim is None:
        out["SentSim"] = None
    else:
        out["SentSim"] = _r5(sum(sentsim_score(sentsim, gt, pred, IOU_THRESHOLDS)) / len(IOU_THRESHOLDS)) if gt else 0
    return out


def _mean_or_none(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return _r5(float(value))
    vals = [float(v) for v in value]
    return _r5(sum(vals) / len(vals))


def _check(sample: Any, i: int) -> tuple[str, str]:
    if not isinstance(sample, dict):
        raise UserError(f"E.T.Bench sample {i}: expected an object, got {type(sample).__name__}")
    for key in ("task", "source", "tgt"):
        if key not in sample:
            raise UserError(f"E.T.Bench sample {i} (idx {sample.get('idx')!r}): missing field {key!r}")
    if sample["task"] in ("dvc", "slc"):
        for key in ("g", "video"):
            if key not in sample:
                raise UserError(f"E.T.Bench sample {i} (idx {sample.get('idx')!r}): missing field {key!r}")
    flat = np.asarray(_flatten(sample["tgt"]), dtype=np.float64)
    if flat.size == 0 or not np.all(np.isfinite(flat)):
        raise UserError(f"E.T.Bench sample {i} (idx {sample.get('idx')!r}): 'tgt' is empty or not finite")
    return str(sample["task"]), str(sample["source"])


def _flatten(x: Any) -> list[float]:
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    try:
        return [float(x)]
    except (TypeError, ValueError):
        return [math.nan]


_MAIN_KEY = {
    "tvg": "F1",
    "epm": "F1",
    "tal": "F1",
    "evs": "F1",
    "vhd": "F1",
    "dvc": "F1",
    "slc": "F1",
    "tem": "mRec",
}


def score_etbench(
    samples: list[dict[str, Any]],
    caption_scorer: CaptionScorer | None = None,
    sentsim: SentSim | str | None = "auto",
) -> dict[str, Any]:
    """Score E.T. Bench predictions as ``compute_metrics.py`` does.

    Returns ``{"per_source": {task: {source: metrics}}`` (the official ``metrics.json``), ``"per_task":
    {task: {"F1" | "mRec" [, "SentSim"]: mean over sources, 5 dp}}``, ``"overall": {"TVG (F1)": 100x, 1
    dp, ...}``, ``"merged": {"F1 (gnd)": ...}`` (a merged figure only when all its tasks are present) and
    ``"unsupported": {task: count}``}``. ``sentsim="auto"`` loads all-MiniLM-L6-v2 when DVC/SLC are
    present and the model package is installed; ``None`` reports SentSim as unavailable (``None``).
    """
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    unsupported: dict[str, int] = {}
    for i, sample in enumerate(samples):
        task, source = _check(sample, i)
        if task not in SUPPORTED:
            unsupported[task] = unsupported.get(task, 0) + 1
            continue
        groups.setdefault(task, {}).setdefault(source, []).append(sample)
    if isinstance(sentsim, str):
        sentsim = load_sentsim() if any(t in groups for t in ("dvc", "slc")) else None
    per_source: dict[str, dict[str, dict[str, Any]]] = {}
    for task, by_source in groups.items():
        for source, group in by_source.items():
            if task in ("tvg", "epm"):
                res = tvg_eval(group)
            elif task == "tem":
                res = tem_eval(group)
            elif task == "tal":
                res = tal_eval(group)
            elif task == "evs":
                res = evs_eval(group)
            elif task == "vhd":
                res = vhd_eval(group)
            else:
                res = dvc_eval(group, caption_scorer, sentsim)
            per_source.setdefault(task, {})[source] = res
    per_task: dict[str, dict[str, Any]] = {}
    for task, results in per_source.items():
        key = _MAIN_KEY[task]
        vals = [r[key] for r in results.values()]
        per_task[task] = {key: _r5(sum(vals) / len(vals))}
        if task in ("dvc", "slc"):
            sims = [r["SentSim"] for r in results.values()]
            per_task[task]["SentSim"] = None if any(s is None for s in sims) else _r5(sum(sims) / len(sims))
    overall: dict[str, float | None] = {}
    for task in ("tvg", "epm", "tal", "evs", "vhd", "dvc", "slc", "tem"):
        if task in per_task:
            overall[f"{task.upper()} ({'Rec' if task == 'tem' else 'F1'})"] = round(
                per_task[task][_MAIN_KEY[task]] * 100, 1
            )
            if task in ("dvc", "slc"):
                s = per_task[task]["SentSim"]
                overall[f"{task.upper()} (Sim)"] = None if s is None else round(s * 100, 1)
    merged: dict[str, float | None] = {}
    if all(t in per_task for t in GROUNDING_TASKS):
        merged["F1 (gnd)"] = round(sum(per_task[t]["F1"] for t in GROUNDING_TASKS) * 100 / 5, 1)
    if all(t in per_task for t in ("dvc", "slc")):
        merged["F1 (cap)"] = round((per_task["dvc"]["F1"] + per_task["slc"]["F1"]) * 100 / 2, 1)
        sims = [per_task[t]["SentSim"] for t in ("dvc", "slc")]
        merged["Sim (cap)"] = None if None in sims else round(sum(sims) * 100 / 2, 1)
    return {
        "per_source": per_source,
        "per_task": per_task,
        "overall": overall,
        "merged": merged,
        "unsupported": unsupported,
    }

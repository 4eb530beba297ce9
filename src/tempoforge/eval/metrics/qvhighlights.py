"""QVHighlights moment retrieval and highlight detection, exactly as moment_detr ``standalone_eval``.

Reproduces ``standalone_eval/eval.py::eval_submission`` (Lei et al., "QVHighlights", NeurIPS 2021) to the
last printed digit, vectorised with numpy (METRICS.md section 1):

- **MR-mAP** (``compute_mr_ap``): the first 10 windows of each query in submission order, stably sorted by
  score (descending), matched greedily to GT windows per threshold ``t in 0.50:0.05:0.95`` using union IoU
  with signed lengths (``iou_union``; a NaN IoU is never ``< t`` and so counts as a match); VOC-interpolated
  AP per query; mAP@t is the mean over queries with at least one predicted window.
- **MR-R1** (``compute_mr_r1``): the FIRST listed window (not the best-scored), the GT window with the
  highest union IoU against it (``argmax``: first on ties, first NaN wins), then the paired *hull* IoU
  (``iou_hull``, 0 for a zero hull), hit when ``>= t`` in float64.
- **Length buckets**: short ``0 < len <= 10``, middle ``10 < len <= 30``, long ``30 < len <= 150`` keep only
  the GT windows in range and only queries with one; predictions are not filtered; ``full`` is unchanged.
- **HL** (``eval_highlight``): ``n = int(duration / 2)`` clips; labels ``score >= 2/3/4`` (Fair/Good/
  VeryGood); HIT@1 at ``argmax`` of the full prediction (0 when past ``n``), max over the 3 annotators;
  HL-mAP with ``get_ap`` semantics on top of sklearn's ``precision_recall_curve`` (reimplemented below and
  tested against sklearn): tied scores enter together, precision interpolated as the max at any recall
  ``>=``, AP = the unweighted mean at each distinct positive recall level; all-0 labels give 0, all-1 give 1.

Output keys and nesting are the official ones (``brief``, ``HL-min-Fair``, ``full``, ``long``, ``middle``,
``short`` with ``MR-mAP`` / ``MR-R1``), values ``float(f"{100 * v:.2f}")``.

Deviations, all on inputs where the official script crashes or is ill-defined (documented values instead):

- a query with an empty ``pred_relevant_windows`` list: left out of mAP (as ``compute_mr_ap`` does) and
  scored IoU 0 (a miss) in R1, where the official script raises ``IndexError``;
- ties in IoU between GT windows during mAP matching are broken towards the *later* GT window (numpy's
  stable ``argsort(...)[::-1]``, which is what the official ``argsort()[::-1]`` gives for fewer than 17 GT
  windows on builds without SIMD sorting);
- a length bucket with no query, or no query with a prediction (the official script crashes on both):
  every value of that block is ``None``;
- malformed input (qid mismatch, duplicate qid, NaN, clip id out of range, too few clips) raises
  ``UserError`` naming the qid instead of an assertion/index error deep inside.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tempoforge.errors import UserError
from tempoforge.eval.metrics.iou import iou_hull, iou_union

__all__ = [
    "HL_MIN_SCORES",
    "LENGTH_RANGES",
    "MR_THRESHOLDS",
    "check_qids",
    "compute_hl",
    "compute_mr_ap",
    "compute_mr_r1",
    "eval_qvhighlights",
    "hl_average_precision",
    "select_length_range",
]

# ``[float(f"{e:.2f}") for e in np.linspace(0.5, 0.95, 10)]``: the exact decimal thresholds and key names
MR_THRESHOLDS: tuple[float, ...] = tuple(float(f"{t:.2f}") for t in np.linspace(0.5, 0.95, 10))
LENGTH_RANGES: dict[str, tuple[float, float]] = {
    "short": (0, 10),
    "middle": (10, 30),
    "long": (30, 150),
    "full": (0, 150),
}
HL_MIN_SCORES: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}
MAX_PRED_WINDOWS = 10
CLIP_LENGTH = 2.0

Row = Mapping[str, Any]


def _fmt(v: float) -> float:
    return float(f"{100 * v:.2f}")


# --------------------------------------------------------------------------------------------- input checks
def check_qids(submission: Sequence[Row], ground_truth: Sequence[Row]) -> None:
    """Raise ``UserError`` unless both sides have the same qid set, each qid once (official ``assert``)."""
    for name, rows in (("submission", submission), ("ground truth", ground_truth)):
        seen: set[Any] = set()
        for i, row in enumerate(rows):
            if "qid" not in row:
                raise UserError(f"{name} row {i + 1}: missing 'qid'")
            if row["qid"] in seen:
                raise UserError(f"{name} row {i + 1}: duplicate qid {row['qid']!r}")
            seen.add(row["qid"])
    pred_q = {r["qid"] for r in submission}
    gt_q = {r["qid"] for r in ground_truth}
    if pred_q != gt_q:
        missing = sorted(gt_q - pred_q, key=str)
        extra = sorted(pred_q - gt_q, key=str)
        parts = []
        if missing:
            parts.append(f"{len(missing)} ground-truth qids have no prediction (e.g. {missing[:5]})")
        if extra:
            parts.append(f"{len(extra)} predicted qids are not in the ground truth (e.g. {extra[:5]})")
        raise UserError("qids in ground truth and submission must match: " + "; ".join(parts))


def _windows(row: Row, key: str, ncols: int, who: str) -> NDArray[np.float64]:
    raw = row.get(key)
    if not isinstance(raw, list):
        raise UserError(f"{who} qid {row.get('qid')!r}: '{key}' must be a list, got {type(raw).__name__}")
    if not raw:
        return np.zeros((0, ncols), dtype=np.float64)
    try:
        arr = np.asarray(raw, dtype=np.float64)  # fast path: a rectangular list of numbers
        if arr.ndim == 2 and arr.shape[1] > ncols:
            arr = arr[:, :ncols]
    except (TypeError, ValueError):
        arr = np.zeros((0,))
    if arr.ndim != 2 or arr.shape[1] != ncols:
        raise UserError(
            f"{who} qid {row.get('qid')!r}: '{key}' items must have {ncols} numbers, got {raw[:3]}"
        )
    if not np.all(np.isfinite(arr)):
        raise UserError(f"{who} qid {row.get('qid')!r}: '{key}' contains a non-finite number")
    return arr


# ------------------------------------------------------------------------------------------------ MR: mAP
def _pad(
    arrays: Sequence[NDArray[np.float64]], width: int, ncols: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    out = np.zeros((len(arrays), width, ncols), dtype=np.float64)
    valid = np.zeros((len(arrays), width), dtype=bool)
    for i, a in enumerate(arrays):
        k = min(len(a), width)
        out[i, :k] = a[:k]
        valid[i, :k] = True
    return out, valid


def _voc_ap(precision: NDArray[np.float64], recall: NDArray[np.float64]) -> NDArray[np.float64]:
    """VOC-2011 interpolated AP over the last axis (``interpolated_precision_recall``), batched."""
    shape = precision.shape[:-1]
    mprec = np.concatenate([np.zeros((*shape, 1)), precision, np.zeros((*shape, 1))], axis=-1)
    mrec = np.concatenate([np.zeros((*shape, 1)), recall, np.ones((*shape, 1))], axis=-1)
    mprec = np.maximum.accumulate(mprec[..., ::-1], axis=-1)[..., ::-1]
    changed = mrec[..., 1:] != mrec[..., :-1]
    return np.asarray(np.where(changed, (mrec[..., 1:] - mrec[..., :-1]) * mprec[..., 1:], 0.0).sum(-1))


def _ap_detection(
    preds: Sequence[NDArray[np.float64]],
    gts: Sequence[NDArray[np.float64]],
    thresholds: Sequence[float],
) -> NDArray[np.float64]:
    """Per-query AP at each threshold, ``(Q, T)``, for queries with >= 1 prediction (``[s, e, score]``).

    Batched ``compute_average_precision_detection``: the greedy loop runs over prediction ranks (<= 10),
    everything else is array work over (query, threshold, GT window).
    """
    nq, nt = len(preds), len(thresholds)
    p_max = max(len(p) for p in preds)
    g_max = max(len(g) for g in gts)
    pw, pvalid = _pad(preds, p_max, 3)
    gw, gvalid = _pad(gts, g_max, 2)
    # stable sort by descending score (Python's list.sort(key=-score)); padding goes last
    key = np.where(pvalid, -pw[..., 2], np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    pw = np.take_along_axis(pw, order[..., None], axis=1)
    pvalid = np.take_along_axis(pvalid, order, axis=1)
    iou = iou_union(pw[:, :, None, :2], gw[:, None, :, :])  # (Q, P, G); NaN kept
    iou = np.where(gvalid[:, None, :], iou, -np.inf)  # padding GT sorts last
    # GT windows in descending IoU: argsort puts NaN last, so NaN comes first after the reversal
    gorder = np.argsort(iou, axis=2, kind="stable")[..., ::-1]
    iou_sorted = np.take_along_axis(iou, gorder, axis=2)
    thr = np.asarray(thresholds, dtype=np.float64)
    locked = np.broadcast_to(~gvalid[:, None, :], (nq, nt, g_max)).copy()  # padding is never free
    tp = np.zeros((nq, nt, p_max), dtype=bool)
    qi = np.arange(nq)[:, None]
    ti = np.arange(nt)[None, :]
    for p in range(p_max):
        ord_p = np.broadcast_to(gorder[:, None, p, :], (nq, nt, g_max))
        free = ~np.take_along_axis(locked, ord_p, axis=2)
        first = free.argmax(axis=2)  # first unlocked GT in IoU order, (Q, T)
        any_free = free.any(axis=2)
        iou_first = np.take_along_axis(iou_sorted[:, p, :], first, axis=1)
        # the official loop breaks with a FP at the first IoU < t; locked windows before the first free one
        # have IoU >= the free one's (or NaN), so testing the first free window is equivalent
        hit = any_free & ~(iou_first < thr[None, :]) & pvalid[:, p, None]
        tp[:, :, p] = hit
        gidx = np.take_along_axis(gorder[:, p, :], first, axis=1)
        locked[qi, ti, gidx] |= hit
    fp = pvalid[:, None, :] & ~tp
    tp_c = np.cumsum(tp, axis=2, dtype=np.float64)
    fp_c = np.cumsum(fp, axis=2, dtype=np.float64)
    num_gt = gvalid.sum(axis=1).astype(np.float64)[:, None, None]
    recall = tp_c / num_gt
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp_c / (tp_c + fp_c)
    return _voc_ap(precision, recall)


def compute_mr_ap(
    submission: Sequence[Row],
    ground_truth: Sequence[Row],
    thresholds: Sequence[float] = MR_THRESHOLDS,
    max_pred_windows: int | None = MAX_PRED_WINDOWS,
) -> dict[str, float | None]:
    """MR-mAP per threshold and ``average`` (``compute_mr_ap``), as 100x values rounded to 2 decimals.

    Queries with an empty prediction list are left out of the mean; when no query has one, every value is
    ``None`` (the official script crashes).
    """
    gt_by_qid = {r["qid"]: _windows(r, "relevant_windows", 2, "ground truth") for r in ground_truth}
    preds, gts = [], []
    for r in submission:
        w = _windows(r, "pred_relevant_windows", 3, "submission")
        if max_pred_windows is not None:
            w = w[:max_pred_windows]  # before any sorting: a good window at rank 11 is lost
        if len(w) == 0:
            continue  # official: no entry in pred_qid2data, left out of the mean
        g = gt_by_qid.get(r["qid"])
        if g is None or len(g) == 0:
            raise UserError(f"qid {r['qid']!r}: no ground-truth window to score against")
        preds.append(w)
        gts.append(g)
    if not preds:  # official: crashes (zip over a NaN scalar); documented value: None
        return {**{str(t): None for t in thresholds}, "average": None}
    ap = _ap_detection(preds, gts, thresholds)  # (Q, T)
    per_thd = ap.mean(axis=0)
    out = {str(t): float(v) for t, v in zip(thresholds, per_thd)}
    out["average"] = float(np.mean(per_thd))
    return {k: _fmt(v) for k, v in out.items()}


# ------------------------------------------------------------------------------------------------- MR: R1
def compute_mr_r1(
    submission: Sequence[Row], ground_truth: Sequence[Row], thresholds: Sequence[float] = MR_THRESHOLDS
) -> dict[str, float]:
    """MR-R1@t (``compute_mr_r1``): first listed window vs its best GT window, paired hull IoU ``>= t``."""
    gt_by_qid = {r["qid"]: _windows(r, "relevant_windows", 2, "ground truth") for r in ground_truth}
    first = np.zeros((len(submission), 2))
    has_pred = np.zeros(len(submission), dtype=bool)
    gts = []
    for i, r in enumerate(submission):
        w = _windows(r, "pred_relevant_windows", 3, "submission")
        g = gt_by_qid.get(r["qid"])
        if g is None or len(g) == 0:
            raise UserError(f"qid {r['qid']!r}: no ground-truth window to score against")
        if len(w):
            first[i] = w[0, :2]
            has_pred[i] = True
        gts.append(g)
    gw, gvalid = _pad(gts, max(len(g) for g in gts), 2)
    cross = iou_union(first[:, None, :], gw)  # (Q, G), NaN kept: np.argmax picks the first NaN
    cross = np.where(gvalid, cross, -np.inf)
    best = np.argmax(cross, axis=1)
    best_gt = gw[np.arange(len(gts)), best]
    paired = iou_hull(first, best_gt, zero_hull=0.0)
    paired = np.where(has_pred, paired, 0.0)  # documented value: an empty list is a miss
    return {str(t): float(f"{np.mean(paired >= t) * 100:.2f}") for t in thresholds}


def select_length_range(
    submission: Sequence[Row], ground_truth: Sequence[Row], len_range: tuple[float, float]
) -> tuple[list[Row], list[Row]]:
    """``get_data_by_range``: keep GT windows with ``min_l < e - s <= max_l`` and the queries that have one.

    ``(0, 150)`` returns everything unchanged (the official "full" shortcut). Predictions are not filtered.
    """
    lo, hi = len_range
    if lo == 0 and hi == 150:
        return list(submission), list(ground_truth)
    gt_out: list[Row] = []
    for r in ground_truth:
        kept = [w for w in r["relevant_windows"] if lo < w[1] - w[0] <= hi]
        if kept:
            gt_out.append({**r, "relevant_windows": kept})
    keep = {r["qid"] for r in gt_out}
    return [r for r in submission if r["qid"] in keep], gt_out


def eval_moment_retrieval(
    submission: Sequence[Row], ground_truth: Sequence[Row]
) -> dict[str, dict[str, Any]]:
    """``{bucket: {"MR-mAP": {...}, "MR-R1": {...}}}`` for short, middle, long and full."""
    out: dict[str, dict[str, Any]] = {}
    for name, rng in LENGTH_RANGES.items():
        sub, gt = select_length_range(submission, ground_truth, rng)
        if not gt:  # official: crashes on an empty bucket; documented value: None everywhere
            none = {str(t): None for t in MR_THRESHOLDS}
            out[name] = {"MR-mAP": {**none, "average": None}, "MR-R1": dict(none)}
            continue
        out[name] = {"MR-mAP": compute_mr_ap(sub, gt), "MR-R1": compute_mr_r1(sub, gt)}
    return out


# --------------------------------------------------------------------------------------------------- HL
def hl_average_precision(labels: NDArray[np.floating], scores: NDArray[np.floating]) -> NDArray[np.float64]:
    """``get_ap(y_true, y_predict)`` for rows of binary ``labels`` ``(..., n)`` against ``scores`` ``(n,)``.

    Same numbers as sklearn's ``precision_recall_curve`` followed by moment_detr's interpolation: sort by
    descending score, one curve point per distinct score (ties enter together), precision at a point is
    ``tp / (k + 1)``; interpolated precision = max over points with lower-or-equal threshold; AP = mean of
    the interpolated precision at each point whose group holds a positive (= each new recall level).
    All-0 rows give 0, all-1 rows give 1.
    """
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[-1]
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y_sorted = y[..., order]
    group_end = np.ones(n, dtype=bool)
    group_end[:-1] = s_sorted[1:] != s_sorted[:-1]
    tp = np.cumsum(y_sorted, axis=-1)
    prec = tp / np.arange(1, n + 1)
    prec = np.where(group_end, prec, -np.inf)
    interp = np.maximum.accumulate(prec[..., ::-1], axis=-1)[..., ::-1]
    # a group contains a positive iff tp at its end exceeds tp at the previous group's end
    ends = np.flatnonzero(group_end)
    tp_end = tp[..., ends]
    prev = np.concatenate([np.zeros((*tp_end.shape[:-1], 1)), tp_end[..., :-1]], axis=-1)
    selected = tp_end > prev
    n_sel = selected.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.where(selected, interp[..., ends], 0.0).sum(-1) / n_sel
    pos = y.sum(-1)
    ap = np.where(pos == 0, 0.0, np.where(pos == n, 1.0, ap))
    return np.asarray(ap, dtype=np.float64)


@dataclass
class _HLQuery:
    qid: Any
    gt: NDArray[np.float64]  # (n, 3) saliency 0..4
    pred: NDArray[np.float64]  # as submitted (any length)


def _hl_queries(submission: Sequence[Row], ground_truth: Sequence[Row]) -> list[_HLQuery]:
    gt_by_qid = {r["qid"]: r for r in ground_truth}
    out = []
    for r in submission:
        qid = r["qid"]
        g = gt_by_qid.get(qid)
        if g is None:
            raise UserError(f"submission qid {qid!r} is not in the ground truth")
        n = int(float(g["duration"]) / CLIP_LENGTH)
        if n < 1:
            raise UserError(f"ground truth qid {qid!r}: duration {g['duration']} has no 2-s clip")
        ids = np.asarray(g.get("relevant_clip_ids", []), dtype=np.int64)
        sal = (
            np.asarray(g.get("saliency_scores", []), dtype=np.float64).reshape(-1, 3)
            if len(ids)
            else np.zeros((0, 3))
        )
        if len(ids) != len(sal):
            raise UserError(
                f"ground truth qid {qid!r}: {len(ids)} relevant_clip_ids but {len(sal)} saliency_scores"
            )
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise UserError(f"ground truth qid {qid!r}: clip id {int(ids.max())} out of range for {n} clips")
        full = np.zeros((n, 3))
        full[ids] = sal
        pred = np.asarray(r.get("pred_saliency_scores"), dtype=np.float64)
        if pred.ndim != 1 or len(pred) == 0:
            raise UserError(
                f"submission qid {qid!r}: 'pred_saliency_scores' must be a non-empty list of numbers"
            )
        if not np.all(np.isfinite(pred)):
            raise UserError(f"submission qid {qid!r}: 'pred_saliency_scores' contains a non-finite number")
        out.append(_HLQuery(qid, full, pred))
    return out


def compute_hl(submission: Sequence[Row], ground_truth: Sequence[Row]) -> dict[str, dict[str, float]]:
    """``eval_highlight``: ``{"HL-min-Fair": {"HL-mAP", "HL-Hit1"}, ...}`` for Fair, Good, VeryGood."""
    queries = _hl_queries(submission, ground_truth)
    mins = np.asarray(list(HL_MIN_SCORES.values()), dtype=np.float64)  # (3,)
    ap = np.zeros((len(queries), len(mins), 3))
    hit = np.zeros((len(queries), len(mins)))
    for i, q in enumerate(queries):
        n = len(q.gt)
        binary = (q.gt.T[None, :, :] >= mins[:, None, None]).astype(np.float64)  # (levels, annotators, n)
        c = int(np.argmax(q.pred))  # on the full prediction, first index on ties
        if c < n:
            hit[i] = binary[:, :, c].max(axis=1)
        pred = q.pred[:n] if len(q.pred) >= n else np.concatenate([q.pred, np.zeros(n - len(q.pred))])
        ap[i] = hl_average_precision(binary, pred)
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(HL_MIN_SCORES):
        out[f"HL-min-{name}"] = {
            "HL-mAP": _fmt(float(np.mean(ap[:, j]))),
            "HL-Hit1": _fmt(float(np.mean(hit[:, j]))),
        }
    return out


# ------------------------------------------------------------------------------------------------ entry
def _has_key(rows: Sequence[Row], key: str) -> bool:
    flags = {key in r for r in rows}
    if len(flags) > 1:
        missing = next(r["qid"] for r in rows if key not in r)
        raise UserError(f"submission qid {missing!r}: '{key}' is missing while other rows have it")
    return flags == {True}


def eval_qvhighlights(submission: Sequence[Row], ground_truth: Sequence[Row]) -> OrderedDict[str, Any]:
    """``eval_submission(submission, ground_truth)``: the official metrics dict, same keys and order.

    ``submission`` rows: ``qid``, ``pred_relevant_windows`` (``[s, e, score]``, submission order) and/or
    ``pred_saliency_scores``; ``ground_truth`` rows: ``qid``, ``duration``, ``relevant_windows``,
    ``relevant_clip_ids``, ``saliency_scores`` (the QVHighlights JSONL rows as they are).
    """
    if not submission:
        raise UserError("the submission is empty")
    check_qids(submission, ground_truth)
    metrics: dict[str, Any] = {}
    brief: OrderedDict[str, float] = OrderedDict()
    if _has_key(submission, "pred_relevant_windows"):
        mr = eval_moment_retrieval(submission, ground_truth)
        metrics.update(mr)
        mr_brief = {
            "MR-full-mAP": mr["full"]["MR-mAP"]["average"],
            "MR-full-mAP@0.5": mr["full"]["MR-mAP"]["0.5"],
            "MR-full-mAP@0.75": mr["full"]["MR-mAP"]["0.75"],
            "MR-short-mAP": mr["short"]["MR-mAP"]["average"],
            "MR-middle-mAP": mr["middle"]["MR-mAP"]["average"],
            "MR-long-mAP": mr["long"]["MR-mAP"]["average"],
            "MR-full-R1@0.5": mr["full"]["MR-R1"]["0.5"],
            "MR-full-R1@0.7": mr["full"]["MR-R1"]["0.7"],
        }
        brief.update(sorted(mr_brief.items()))
    if _has_key(submission, "pred_saliency_scores"):
        hl = compute_hl(submission, ground_truth)
        metrics.update(hl)
        brief.update((f"{k}-{sub.split('-')[1]}", v[sub]) for k, v in hl.items() for sub in v)
    if not brief:
        raise UserError("the submission has neither 'pred_relevant_windows' nor 'pred_saliency_scores'")
    out: OrderedDict[str, Any] = OrderedDict()
    out["brief"] = brief
    out.update(sorted(metrics.items()))
    return out

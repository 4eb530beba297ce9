"""Single-moment grounding (Charades-STA style): R@1 at IoU 0.3/0.5/0.7 and mIoU, per convention.

METRICS.md section 2. Every convention scores ONE predicted window per query and keeps every query in the
denominator; they differ in parser, IoU, invalid-prediction rule and output form:

================  ==========================  ====================  ===========================  ==================
convention        parser                      IoU                   invalid prediction           output
================  ==========================  ====================  ===========================  ==================
``etchat``        ``parse_etbench_tvg``, 1st  union, float32 torch  not exactly 2 numbers:       fractions, 3 dp
                  window (or ``pred``)        (0.7 -> 0.69999999)   Failed, IoU 0
``lmms-eval-tvg`` ``parse_lmms_eval_tvg``     hull, float64         not exactly 1 window:        percent, unrounded
                  (keyword sentences only)                          ``[gt_e + 10, gt_e + 20]``
``lmms-eval``     ``parse_lmms_eval_harness`` hull (0 if hull<=0)   IoU 0, ``bad_pred`` += 1     percent, unrounded
``strict``        ours (``parse_spans``)      union float64, max    parse failures and refusals  fractions, unrounded
                                              over ALL GT spans     counted apart, IoU 0
================  ==========================  ====================  ===========================  ==================

``etchat`` is the default: E.T.Chat's ``eval_grounding.py`` is the scorer of the model family this
toolkit's methods compare against, and it reads the model's own window with no text heuristics beyond
E.T.Bench's parser. The official conventions use the FIRST GT window (Charades-STA has one); ``strict``
uses all of them. A query with no GT (an irrelevant query) is only scored by ``strict``, as refusal
accuracy; the official conventions reject it with a :class:`~tempoforge.errors.UserError`.

``lmms-eval-tvg`` follows the standalone script as it is at lmms-eval HEAD, quirks included (see
:func:`score_lmms_eval_tvg`): only sentences with a keyword are read, so ``"7 - 14"`` or ``"From 4 to 11
seconds."`` are invalid there and scored IoU 0, while ``strict`` / ``etchat`` read them.

Deviations: a given ``pred`` with a non-finite number is an invalid prediction (a counted failure) in
every convention, never a NaN in the means. The standalone ``eval_tvg.py`` raises ``ZeroDivisionError``
when the hull is 0 (two identical zero-length windows); here that IoU is 0. Threshold tests compare float64
values (the float32 IoU is widened first, as ``tensor.item()`` does), never float32 against a
float32-rounded threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tempoforge.errors import UserError
from tempoforge.eval.metrics.iou import iou_hull, iou_union_f32, temporal_iou
from tempoforge.eval.parsers_official import parse_etbench_tvg, parse_lmms_eval_harness, parse_lmms_eval_tvg
from tempoforge.eval.parsing import parse_spans
from tempoforge.records import Prediction

__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
    "THRESHOLDS",
    "GroundingDetails",
    "grounding_details",
    "score_grounding",
    "score_lmms_eval_tvg",
]

THRESHOLDS = (0.3, 0.5, 0.7)
DEFAULT_CONVENTION = "etchat"


@dataclass
class GroundingDetails:
    """Per-query outcome under one convention (for reports): what was scored and how."""

    convention: str
    ids: list[str]
    ious: np.ndarray  # float64 (N,), the IoU the convention counts (0 for failures; NaN kept where it is)
    pred: np.ndarray  # float64 (N, 2), the window scored (NaN row when none)
    status: list[str]  # "ok" | "failed" | "refusal" | "empty" | "irrelevant-refused" | "irrelevant-answered"
    gt: list[list[list[float]]]


def _first_gt(p: Prediction) -> list[float]:
    gts = p.gt_windows()
    if not gts:
        raise UserError(
            f"prediction {p.id!r}: no ground truth ('gt'); official conventions score relevant queries only "
            "(use --convention strict for irrelevant queries)"
        )
    if len(gts[0]) != 2:
        raise UserError(f"prediction {p.id!r}: gt window must be [start, end], got {gts[0]!r}")
    return [float(gts[0][0]), float(gts[0][1])]


def _given_pred(p: Prediction) -> list[float] | None:
    return None if p.pred is None else [float(x) for x in p.pred]


def _details_etchat(preds: Sequence[Prediction]) -> GroundingDetails:
    n = len(preds)
    gt = np.zeros((n, 2))
    pr = np.full((n, 2), np.nan)
    status = []
    for i, p in enumerate(preds):
        gt[i] = _first_gt(p)
        cand = _given_pred(p)
        if cand is None:
            parsed = parse_etbench_tvg(p.answer)
            cand = parsed[0] if parsed else None
        if cand is not None and len(cand) == 2 and all(math.isfinite(x) for x in cand):
            pr[i] = cand
            status.append("ok")
        else:
            status.append("failed")
    ok = np.array([s == "ok" for s in status], dtype=bool)
    ious = np.zeros(n)
    if ok.any():
        val = iou_union_f32(gt[ok], pr[ok]).astype(np.float64)  # tensor.item() widens to a python float
        ious[ok] = np.where(np.isfinite(val), val, 0.0)
    return GroundingDetails(
        "etchat", [p.id for p in preds], ious, pr, status, [p.gt_windows() for p in preds]
    )


def _details_lmms(preds: Sequence[Prediction], harness: bool) -> GroundingDetails:
    n = len(preds)
    gt = np.zeros((n, 2))
    pr = np.full((n, 2), np.nan)
    status = []
    parser = parse_lmms_eval_harness if harness else parse_lmms_eval_tvg
    for i, p in enumerate(preds):
        gt[i] = _first_gt(p)
        given = _given_pred(p)
        if given is not None:
            wins = [given] if len(given) == 2 and all(math.isfinite(x) for x in given) else []
        else:
            wins = parser(p.answer)
        if len(wins) == 1:
            pr[i] = wins[0]
            status.append("ok")
        else:
            status.append("failed")
            if not harness:  # eval_tvg.py: replaced by a window that cannot overlap the GT
                pr[i] = [gt[i, 1] + 10, gt[i, 1] + 20]
    ok = np.array([s == "ok" for s in status], dtype=bool)
    scored = ok if harness else np.ones(n, dtype=bool)
    ious = np.zeros(n)
    if scored.any():
        ious[scored] = iou_hull(pr[scored], gt[scored], zero_hull=0.0)
    name = "lmms-eval" if harness else "lmms-eval-tvg"
    return GroundingDetails(name, [p.id for p in preds], ious, pr, status, [p.gt_windows() for p in preds])


def _details_strict(preds: Sequence[Prediction]) -> GroundingDetails:
    n = len(preds)
    pr = np.full((n, 2), np.nan)
    status = []
    gt_rows: list[list[float]] = []
    gt_owner: list[int] = []
    for i, p in enumerate(preds):
        given = _given_pred(p)
        win: list[float] | None
        if given is not None:
            st = "ok" if len(given) == 2 and all(math.isfinite(x) for x in given) else "failed"
            win = given if st == "ok" else None
        elif p.windows and not p.answer:
            win, st = [float(x) for x in p.windows[0][:2]], "ok"
        else:
            res = parse_spans(p.answer, p.duration)
            st = {"ok": "ok", "refusal": "refusal", "empty": "empty"}.get(res.status, "failed")
            win = list(res.windows[0]) if res.windows else None
        if win is not None:
            pr[i] = win
        gts = p.gt_windows()
        if not gts:
            status.append("irrelevant-refused" if st in ("refusal", "empty") else "irrelevant-answered")
            continue
        status.append(st)
        if win is not None:
            gt_rows.extend(gts)
            gt_owner.extend([i] * len(gts))
    ious = np.zeros(n)
    if gt_rows:
        owner = np.asarray(gt_owner)
        per_gt = temporal_iou(pr[owner], np.asarray(gt_rows, dtype=np.float64))
        np.maximum.at(ious, owner, per_gt)  # IoU = max over all GT spans of the query
    return GroundingDetails(
        "strict", [p.id for p in preds], ious, pr, status, [p.gt_windows() for p in preds]
    )


def grounding_details(preds: Sequence[Prediction], convention: str = DEFAULT_CONVENTION) -> GroundingDetails:
    """Per-query IoU, scored window and status under ``convention`` (see :data:`CONVENTIONS`)."""
    if convention not in _DETAILS:
        raise UserError(f"unknown grounding convention {convention!r}; choose from {sorted(_DETAILS)}")
    return _DETAILS[convention](preds)


def _hits(ious: np.ndarray, t: float) -> int:
    return int(np.count_nonzero(ious >= t))  # float64 compare; NaN is never a hit


def _score_etchat(preds: Sequence[Prediction]) -> dict[str, object]:
    d = _details_etchat(preds)
    total = len(preds)
    if total == 0:
        raise UserError("no predictions to score")
    out: dict[str, object] = {"convention": "etchat", "Total": total, "Failed": d.status.count("failed")}
    for t in THRESHOLDS:
        out[f"R@{t}"] = round(_hits(d.ious, t) / total, 3)
    out["mIoU"] = round(sum(d.ious.tolist()) / total, 3)
    return out


def _score_lmms(preds: Sequence[Prediction], harness: bool) -> dict[str, object]:
    d = _details_lmms(preds, harness)
    total = len(preds)
    if total == 0:
        raise UserError("no predictions to score")
    failed = d.status.count("failed")
    if harness:
        out: dict[str, object] = {"convention": "lmms-eval", "Total": total, "bad_pred": failed}
        for t in THRESHOLDS:
            out[f"IOU@{int(t * 10)}"] = _hits(d.ious, t) * 100 / total
        out["mIOU"] = sum(d.ious.tolist()) * 100 / total
        return out
    out = {"convention": "lmms-eval-tvg", "Total": total, "Failed": failed}
    for t in THRESHOLDS:
        out[f"IOU {t}"] = _hits(d.ious, t) * 100 / total
    out["mIOU"] = sum(d.ious.tolist()) * 100 / total
    return out


def score_lmms_eval_tvg(preds: Sequence[Prediction]) -> dict[str, object]:
    """Convention ``lmms-eval-tvg``: lmms-eval's standalone ``lmms_eval/tasks/charades_sta/eval_tvg.py``.

    Reproduces the script at lmms-eval HEAD (75571cfe; its parser last changed in f1e52005), quirks
    included:

    - Answers are read by :func:`~tempoforge.eval.parsers_official.parse_lmms_eval_tvg` (``extract_time``,
      L20-107): ``"to"`` becomes ``"-"`` everywhere, and ONLY sentences (split on ``! ? newline``, not on
      ``.``) that contain a keyword (start/end/happen...) are read: first the ``a - b`` ranges of the first
      such sentence that has one, else the first number of each keyword sentence paired in order (an odd
      count dropped), else a ``12s - 15s`` fallback; each pair swapped to ``[min, max]``; the first kept.
      So ``"7 - 14"``, ``"From 4.0 to 11.0 seconds."``, a single sentence ``"starts at 4 and ends at 11"``
      (one first number), a single timestamp and a refusal all give no window.
    - Anything but exactly one window is replaced by the FIXED window ``[gt_end + 10, gt_end + 20]``
      (L134-136; not random), whose hull IoU with the GT is always 0; it stays in the denominator.
    - IoU ``max(min e - max s, 0) / (max e - min s)`` in float64 (L110-115); hits ``IoU >= t``.
    - Output as the script prints it (L147): ``IOU 0.3``, ``IOU 0.5``, ``IOU 0.7`` = ``hits * 100 / N`` and
      ``mIOU`` = ``sum(IoU) * 100 / N``, unrounded; plus ``Failed`` (the replaced answers), ``Total`` and
      ``convention``.

    Deviations: a hull of 0 (identical zero-length windows; the script raises ``ZeroDivisionError``) gives
    IoU 0. A record with ``pred`` (no text) is scored on that window, exactly one window by construction.
    """
    return _score_lmms(preds, harness=False)


def _score_strict(preds: Sequence[Prediction]) -> dict[str, object]:
    d = _details_strict(preds)
    st = np.array(d.status)
    relevant = ~np.isin(st, ["irrelevant-refused", "irrelevant-answered"])
    n_rel = int(relevant.sum())
    n_irr = len(st) - n_rel
    ious = d.ious[relevant]
    out: dict[str, object] = {
        "convention": "strict",
        "Total": len(st),
        "relevant": n_rel,
        "parse_failures": int(np.count_nonzero(st == "failed")),
        "refusals": int(np.count_nonzero(st == "refusal")),
        "empty": int(np.count_nonzero(st == "empty")),
    }
    for t in THRESHOLDS:
        out[f"R1@{t}"] = _hits(ious, t) / n_rel if n_rel else None
    out["mIoU"] = float(ious.mean()) if n_rel else None
    out["irrelevant"] = n_irr
    out["refusal_accuracy"] = float(np.count_nonzero(st == "irrelevant-refused")) / n_irr if n_irr else None
    return out


_DETAILS: dict[str, Callable[[Sequence[Prediction]], GroundingDetails]] = {
    "etchat": _details_etchat,
    "lmms-eval-tvg": lambda preds: _details_lmms(preds, harness=False),
    "lmms-eval": lambda preds: _details_lmms(preds, harness=True),
    "strict": _details_strict,
}

CONVENTIONS: dict[str, Callable[[Sequence[Prediction]], dict[str, object]]] = {
    "etchat": _score_etchat,
    "lmms-eval-tvg": score_lmms_eval_tvg,
    "lmms-eval": lambda preds: _score_lmms(preds, harness=True),
    "strict": _score_strict,
}
"""Grounding conventions by name -> ``scorer(predictions) -> metrics dict`` (for the CLI's choices)."""


def score_grounding(preds: Sequence[Prediction], convention: str = DEFAULT_CONVENTION) -> dict[str, object]:
    """R@1 at IoU 0.3/0.5/0.7 and mIoU of ``preds`` under ``convention``, in that convention's own form.

    Keys: ``etchat`` -> ``R@0.3 R@0.5 R@0.7 mIoU Failed Total``; ``lmms-eval-tvg`` -> ``IOU 0.3 IOU 0.5
    IOU 0.7 mIOU Failed Total``; ``lmms-eval`` -> ``IOU@3 IOU@5 IOU@7 mIOU bad_pred Total``; ``strict`` ->
    ``R1@0.3 R1@0.5 R1@0.7 mIoU relevant parse_failures refusals empty irrelevant refusal_accuracy Total``.
    Every dict also has ``convention``.
    """
    if convention not in CONVENTIONS:
        raise UserError(f"unknown grounding convention {convention!r}; choose from {sorted(CONVENTIONS)}")
    if not preds:
        raise UserError("no predictions to score")
    return CONVENTIONS[convention](preds)

"""``tempoforge eval score``: read a benchmark's native prediction/GT files, score them, format the result.

One function per benchmark, each returning a :class:`ScoreResult` (the metrics dict in the official form,
plus per-query details that ``eval report`` draws). Files are read and checked here (errors name the file
and line/key); the metrics themselves live in ``tempoforge.eval.metrics``.

Inputs (the official formats):

``--benchmark`` also takes the dataset names that a scorer reads (``grounding``, ``tempoworld``,
``timechat-tvg``, ``activitynet-captions``, ``youcook2``): :func:`score` looks the name up in the table of
:mod:`tempoforge.eval.benchmarks`, which names the function below that scores it. A file written
for another scorer is an error, and suspicious rows (ground truth with ``start > end``, predictions with no
answer) are scored and reported in ``ScoreResult.warnings`` (:mod:`tempoforge.eval.checks`).

- ``charades-sta`` (any single-moment grounding): a self-contained prediction JSONL of
  ``tempoforge.records.Prediction`` (``{"id", "duration", "gt": [s, e] or [[s, e], ...], "answer": raw
  text}`` or ``"pred": [s, e]``); ``--convention`` picks the scorer (default ``etchat``).
- ``qvhighlights``: a moment_detr submission JSONL and the GT JSONL (``--gt``).
- ``dense-captioning``: a densevid submission JSON (``{"results": {vid: [{"timestamp", "sentence"}]}}``)
  and one or more reference JSON files (``--gt a.json --gt b.json``).
- ``etbench``: an E.T.Bench sample list with the model's answers in ``a``.
- ``mcq``: a JSONL of multiple-choice answers (``--convention vinoground`` for Vinoground pairs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.errors import UserError
from tempoforge.eval import loaders
from tempoforge.eval.benchmarks import BENCHMARKS, find_benchmark
from tempoforge.eval.checks import check_benchmark_field, check_mcq_rows, grounding_warnings
from tempoforge.io.jsonl import atomic_write_text, read_jsonl
from tempoforge.records import Prediction

__all__ = [
    "CONVENTIONS",
    "ScoreResult",
    "flatten_metrics",
    "format_table",
    "read_predictions",
    "score",
    "write_metrics",
]

CONVENTIONS: dict[str, tuple[str, ...]] = {b.name: b.choices for b in BENCHMARKS.values() if b.choices}
"""The scorers with a choice of convention (the first is the default); the others have only their own."""


@dataclass
class ScoreResult:
    """Metrics (official names and nesting) plus what a report needs to draw per-query views."""

    benchmark: str
    metrics: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _need_file(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{what} file not found: {p}")
    return p


def _nonblank_lines(path: Path) -> list[int]:
    with path.open("rb") as fh:
        return [i for i, raw in enumerate(fh, start=1) if raw.strip()]


def read_predictions(path: str | Path) -> list[Prediction]:
    """``read_jsonl(path, Prediction)`` plus checks that name the line: duplicate ids, non-finite ``pred``."""
    return _read_predictions(_need_file(path, "prediction"))[0]


def _read_predictions(p: Path) -> tuple[list[Prediction], list[int]]:
    """The predictions of ``p`` and the line number of each."""
    try:
        preds = list(read_jsonl(p, Prediction))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    lines = _nonblank_lines(p)
    seen: dict[str, int] = {}
    for pr, lineno in zip(preds, lines):
        if pr.id in seen:
            raise UserError(f"{p}:{lineno}: duplicate id {pr.id!r} (first on line {seen[pr.id]})")
        seen[pr.id] = lineno
        if pr.pred is not None and not all(math.isfinite(x) for x in pr.pred):
            raise UserError(f"{p}:{lineno}: field 'pred' contains a non-finite number ({pr.pred})")
        if pr.windows is not None and not all(math.isfinite(x) for w in pr.windows for x in w):
            raise UserError(f"{p}:{lineno}: field 'windows' contains a non-finite number")
    if not preds:
        raise UserError(f"{p}: no predictions")
    return preds, lines


# ------------------------------------------------------------------------------------------ per benchmark
def score_grounding_file(pred: str | Path, convention: str | None = None) -> ScoreResult:
    """Single-moment grounding (Charades-STA style) under ``convention`` (default ``etchat``)."""
    from tempoforge.eval.metrics.grounding import DEFAULT_CONVENTION, grounding_details, score_grounding

    conv = convention or DEFAULT_CONVENTION
    path = _need_file(pred, "prediction")
    preds, lines = _read_predictions(path)
    check_benchmark_field(preds, lines, path, "charades-sta")
    warnings, per_row = grounding_warnings(preds, lines)
    metrics = score_grounding(preds, conv)
    det = grounding_details(preds, conv)
    rows = [
        {
            "id": p.id,
            "duration": p.duration,
            "gt": det.gt[i],
            "pred": [] if math.isnan(det.pred[i, 0]) else [det.pred[i].tolist()],
            "iou": float(det.ious[i]),
            "status": det.status[i],
            "answer": p.answer,
            "warnings": per_row[i],
        }
        for i, p in enumerate(preds)
    ]
    return ScoreResult("charades-sta", dict(metrics), {"rows": rows, "convention": conv}, warnings)


def score_qvhighlights_files(pred: str | Path, gt: str | Path) -> ScoreResult:
    """QVHighlights moment retrieval + highlight detection (moment_detr ``eval_submission``)."""
    import numpy as np

    from tempoforge.eval.metrics.iou import iou_hull, iou_union
    from tempoforge.eval.metrics.qvhighlights import eval_qvhighlights

    sub = loaders.load_qvhighlights_submission(_need_file(pred, "submission"))
    ref = loaders.load_qvhighlights_rows(_need_file(gt, "ground-truth"))
    metrics = eval_qvhighlights(sub, ref)
    gt_by = {r["qid"]: r for r in ref}
    rows = []
    for r in sub:
        g = gt_by[r["qid"]]
        wins = [w[:2] for w in r.get("pred_relevant_windows", [])][:10]
        iou = 0.0
        if wins:  # the R1 IoU: first window, best GT by union IoU, paired hull IoU
            cross = iou_union(np.asarray([wins[0]])[:, None, :], np.asarray(g["relevant_windows"])[None])[0]
            best = int(np.argmax(cross))
            iou = float(iou_hull(wins[0], g["relevant_windows"][best]))
        rows.append(
            {
                "id": str(r["qid"]),
                "duration": float(g["duration"]),
                "gt": g["relevant_windows"],
                "pred": wins[:3],
                "iou": iou,
                "status": "ok" if wins else "empty",
                "answer": r.get("query", ""),
            }
        )
    return ScoreResult("qvhighlights", dict(metrics), {"rows": rows, "iou_name": "R1 IoU (first window)"})


def score_dense_files(
    pred: str | Path,
    gts: Sequence[str | Path],
    *,
    tious: Sequence[float] | None = None,
    captions: bool = True,
    soda: bool = True,
    soda_multi_reference: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> ScoreResult:
    """Dense captioning: densevid P/R/F1, caption scores (pycocoevalcap) and SODA_c.

    SODA_c follows fujiso/SODA ``soda.py`` (METEOR, type c); ``soda_multi_reference`` is its
    ``--multi_reference`` (default off: the reference files are merged per video). The ``SODA_c`` entry
    records the option as ``multi_reference``.
    """
    import numpy as np

    from tempoforge.eval.metrics.captions import densevid_caption_scores, java_available
    from tempoforge.eval.metrics.densevid import DEFAULT_TIOUS, MAX_PROPOSALS, densevid_detection
    from tempoforge.eval.metrics.iou import tiou_densevid_matrix
    from tempoforge.eval.metrics.soda import soda_c

    if not gts:
        raise UserError("dense-captioning needs at least one reference file (--gt)")
    thr = tuple(tious) if tious else DEFAULT_TIOUS
    sub = loaders.load_densevid_submission(_need_file(pred, "submission"))
    refs = [loaders.load_densevid_refs(_need_file(g, "reference")) for g in gts]
    windows = {v: [w for w, _ in items] for v, items in sub.items()}
    ref_windows = [{v: r.timestamps for v, r in ref.items()} for ref in refs]
    ref_events = [{v: list(zip(r.timestamps, r.sentences)) for v, r in ref.items()} for ref in refs]
    truncated = {v: items[:MAX_PROPOSALS] for v, items in sub.items()}
    det = densevid_detection(windows, ref_windows, thr)
    metrics: dict[str, Any] = {k: _scale(v) for k, v in det.items() if k != "num_videos"}
    metrics["num_videos"] = det["num_videos"]
    warnings = []
    gt_videos = {v for ref in refs for v in ref}
    extra = len(set(sub) - gt_videos)
    if extra:
        warnings.append(f"{extra} predicted videos are not in the references (ignored, as officially)")
    if captions:
        from tqdm import tqdm

        bar = (lambda it: iter(tqdm(it, total=len(thr), desc="caption scores", unit="tIoU"))) if progress else None
        cap = densevid_caption_scores(truncated, ref_events, thr, seed=seed, progress=bar)
        for m, row in cap.items():
            if m != "tokenizer":
                metrics[m] = _scale(row)
        metrics["tokenizer"] = cap["tokenizer"]
        if cap["tokenizer"] != "ptb":
            warnings.append("java not found: METEOR unavailable, simple tokenizer used instead of PTB")
    if soda:
        if java_available():
            res = soda_c(sub, ref_events, multi_reference=soda_multi_reference, progress=progress)
            res.pop("per_video_f1")  # the metrics report keeps the script's figures only
            metrics["SODA_c"] = res
        else:
            metrics["SODA_c"] = None
            warnings.append("java not found: SODA_c (METEOR-based) unavailable")
    rows = []
    first_ref = {v: (r.duration, r.timestamps) for ref in reversed(refs) for v, r in ref.items()}
    for v, (dur, ts) in sorted(first_ref.items()):
        pw = windows.get(v, [])[:MAX_PROPOSALS]
        best = tiou_densevid_matrix(pw, ts).max(axis=1) if pw and ts else np.zeros(len(pw))
        rows.append(
            {
                "id": v,
                "duration": dur,
                "gt": [list(t) for t in ts],
                "pred": [list(w) for w in pw],
                "iou": float(best.mean()) if len(best) else 0.0,
                "status": "ok" if pw else "empty",
                "answer": "",
            }
        )
    soda_name = f"SODA_c: fujiso/SODA soda.py (METEOR, type c, multi_reference={soda_multi_reference})"
    convention = f"densevid_eval; {soda_name}" if soda else "densevid_eval"
    metrics["convention"] = convention
    details = {"rows": rows, "iou_name": "mean best tIoU of the predictions", "convention": convention}
    return ScoreResult("dense-captioning", metrics, details, warnings)


def _scale(row: Any) -> Any:
    """Fractions -> x100 (the densevid printout), keeping ``None``."""
    if isinstance(row, dict):
        return {k: (None if v is None else 100 * v) for k, v in row.items()}
    return row


def score_etbench_file(pred: str | Path) -> ScoreResult:
    """E.T.Bench ``compute_metrics.py`` on a sample list with answers in ``a``."""
    from tempoforge.eval.metrics.captions import etbench_caption_scorer
    from tempoforge.eval.metrics.etbench import score_etbench

    samples = loaders.load_etbench(_need_file(pred, "prediction"), require_answers=True)
    metrics = score_etbench(samples, caption_scorer=etbench_caption_scorer)
    return ScoreResult("etbench", dict(metrics))


def score_mcq_file(pred: str | Path, convention: str | None = None) -> ScoreResult:
    """Multiple choice: a JSONL of ``{id, answer, gt, options?, category?}`` (``--convention mcq``, default)
    or of Vinoground pairs ``{id, text_pos, text_neg, video_pos, video_neg}`` (``--convention vinoground``)."""
    from tempoforge.eval.metrics.mcq import score_mcq, score_vinoground

    path = _need_file(pred, "prediction")
    numbered = loaders.load_jsonl_rows(path)
    conv = convention or "mcq"
    check_mcq_rows(numbered, path, conv)
    rows = [r for _, r in numbered]
    if conv == "mcq":
        return ScoreResult("mcq", dict(score_mcq(rows)), {"convention": conv})
    if conv == "vinoground":
        return ScoreResult("mcq", dict(score_vinoground(rows)), {"convention": conv})
    raise UserError(f"unknown mcq convention {conv!r}; choose from mcq, vinoground")


def score(
    benchmark: str,
    pred: str | Path,
    gt: Sequence[str | Path] = (),
    *,
    convention: str | None = None,
    **options: Any,
) -> ScoreResult:
    """Score ``pred`` (and the ``gt`` files its scorer reads) as the table entry of ``benchmark`` (a name or
    alias of :data:`tempoforge.eval.benchmarks.BENCHMARKS`) says; ``options`` are the scorer's own."""
    b = find_benchmark(benchmark)
    b.convention(convention)  # a UserError when it does not apply
    unknown = sorted(set(options) - set(b.options))
    if unknown:
        raise UserError(f"{b.name} takes no option {', '.join(unknown)}")
    args: list[Any] = [pred]
    if b.gt == "one":
        if len(gt) != 1:
            raise UserError(f"{b.name} needs exactly one --gt file (the GT JSONL)")
        args.append(gt[0])
    elif b.gt == "many":
        args.append(gt)
    if b.choices:
        options["convention"] = convention
    result: ScoreResult = b.load_scorer()(*args, **options)
    return result


# --------------------------------------------------------------------------------------------- output
def flatten_metrics(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dict -> ``[("full/MR-mAP/0.5", 54.96), ...]`` (lists kept as values)."""
    out: list[tuple[str, Any]] = []
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.extend(flatten_metrics(v, key + "/"))
        else:
            out.append((key, v))
    return out


def _fmt_value(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if math.isfinite(v) else str(v)
    return str(v)


def format_table(result: ScoreResult) -> str:
    """A readable two-column table of the flattened metrics (``brief`` first when present)."""
    rows = flatten_metrics(result.metrics)
    width = max((len(k) for k, _ in rows), default=6)
    lines = [f"{result.benchmark}", f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 10}"]
    lines += [f"{k:<{width}}  {_fmt_value(v)}" for k, v in rows]
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def write_metrics(path: str | Path, result: ScoreResult) -> None:
    """Write the metrics JSON atomically (NaN written as null, never as an invalid ``NaN`` token); the run's
    warnings, when there are any, under ``"warnings"``."""
    metrics = dict(result.metrics)
    if result.warnings:
        metrics["warnings"] = list(result.warnings)
    payload = json.dumps(_finite(metrics), indent=2, allow_nan=False)
    atomic_write_text(path, payload + "\n")


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x

"""Checks that keep ``eval score`` from passing wrong input silently.

- A file meant for another scorer is an error naming the line and field: a prediction whose ``benchmark``
  field names another scorer (:func:`check_benchmark_field`), multiple-choice rows whose ``gt`` is a time
  span or missing (:func:`check_mcq_rows`; before this, such a file scored 0 %).
- Suspicious but scorable rows are scored as the official scorers do and reported: each gets a
  ``warnings`` list in the per-query details and the run one summary line per kind
  (:func:`grounding_warnings`): ground truth with ``start > end``, and predictions with no answer (an
  empty ``answer`` and no ``pred``/``windows``, e.g. a video ``predict`` could not read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tempoforge.errors import UserError
from tempoforge.eval.benchmarks import scorer_for
from tempoforge.records import Prediction

__all__ = ["check_benchmark_field", "check_mcq_rows", "grounding_warnings"]


def _lines(numbers: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def check_benchmark_field(preds: Sequence[Prediction], lines: Sequence[int], path: Path, scorer: str) -> None:
    """A :class:`UserError` at the first prediction whose ``benchmark`` names a scorer other than ``scorer``.

    Unknown names (a label of the user's own) are accepted.
    """
    for p, lineno in zip(preds, lines):
        try:
            theirs = scorer_for(p.benchmark)
        except UserError:
            continue
        if theirs != scorer:
            raise UserError(
                f"{path}:{lineno}: field 'benchmark' is {p.benchmark!r}: these are {theirs} predictions, not "
                f"{scorer}; score them with --benchmark {theirs}"
            )


def _looks_like(row: Mapping[str, Any]) -> str | None:
    """The scorer a non-MCQ row was written for, when it says so or its ``gt`` is a time span."""
    name = row.get("benchmark")
    if isinstance(name, str):
        try:
            theirs = scorer_for(name)
        except UserError:
            theirs = None
        if theirs not in (None, "mcq"):
            return theirs
    gt = row.get("gt")
    if isinstance(gt, list) and gt and all(isinstance(x, (int, float, list)) for x in gt):
        return "charades-sta"
    return None


def check_mcq_rows(rows: Sequence[tuple[int, Mapping[str, Any]]], path: Path, convention: str) -> None:
    """Every multiple-choice row names its answer key; a row of another benchmark is an error saying which."""
    for lineno, row in rows:
        other = _looks_like(row)
        if other is not None:
            raise UserError(
                f"{path}:{lineno}: this is not a multiple-choice answer (field 'gt' is {row.get('gt')!r}"
                + (f", field 'benchmark' is {row['benchmark']!r}" if "benchmark" in row else "")
                + f"); it looks like a {other} file: score it with --benchmark {other}"
            )
        if convention == "mcq" and "gt" not in row:
            raise UserError(f"{path}:{lineno}: missing field 'gt' (the correct option letter or 0-based index)")


def grounding_warnings(preds: Sequence[Prediction], lines: Sequence[int]) -> tuple[list[str], list[list[str]]]:
    """``(summary lines, warnings per prediction)`` for reversed ground truth and missing answers."""
    per: list[list[str]] = [[] for _ in preds]
    reversed_gt: list[int] = []
    no_answer: list[int] = []
    failed: list[tuple[int, str]] = []
    for i, (p, lineno) in enumerate(zip(preds, lines)):
        bad = [w for w in p.gt_windows() if len(w) == 2 and w[0] > w[1]]
        if bad:
            per[i].append(f"ground truth {bad[0]} has start > end (scored as given)")
            reversed_gt.append(lineno)
        if not p.answer.strip() and p.pred is None and not p.windows:
            error = str(p.meta.get("error", "")).strip()
            per[i].append("no answer (scored as a failure)" + (f"; predict failed: {error}" if error else ""))
            no_answer.append(lineno)
            if error:
                failed.append((lineno, error))
    summary = []
    if reversed_gt:
        summary.append(f"{len(reversed_gt)} predictions have ground truth with start > end (lines "
                       f"{_lines(reversed_gt)}): scored as given")
    if no_answer:
        line = f"{len(no_answer)} predictions have no answer (lines {_lines(no_answer)}): scored as failures"
        if failed:
            line += f"; {len(failed)} of them failed in predict (line {failed[0][0]}: {failed[0][1]})"
        summary.append(line)
    return summary, per


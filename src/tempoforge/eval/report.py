"""``tempoforge eval report``: a static, self-contained HTML page for one scored benchmark run.

Sections: the benchmark's headline metrics under the convention used (their official key names come from the
benchmark table, :mod:`tempoforge.eval.benchmarks`), the metrics table, per-query timelines (GT vs predicted spans) for the best and the worst
queries, the IoU distribution, and parse-failure examples with the raw answers. Figures are matplotlib PNGs
embedded as base64 (``figures.py``), so the page is one file with no external assets.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tempoforge.errors import UserError
from tempoforge.eval.benchmarks import Benchmark, find_benchmark
from tempoforge.eval.figures import figure_to_base64_png, plot_iou_histogram, plot_timelines
from tempoforge.eval.score import ScoreResult, flatten_metrics
from tempoforge.io.jsonl import atomic_write_text

__all__ = ["build_report", "headline", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;color:#212529}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dee2e6}
table{border-collapse:collapse;font-size:.85rem} td,th{padding:.2rem .6rem;border-bottom:1px solid #f1f3f5}
td.v{text-align:right;font-variant-numeric:tabular-nums} img{max-width:100%} .warn{color:#c92a2a}
pre{white-space:pre-wrap;background:#f8f9fa;padding:.4rem;font-size:.8rem;margin:.2rem 0}
"""


def _value(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return html.escape(str(v))


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td class='v'>{_value(v)}</td></tr>"
        for k, v in flatten_metrics(metrics)
    )
    return f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>"


def _benchmark(result: ScoreResult) -> Benchmark | None:
    try:
        return find_benchmark(result.benchmark)
    except UserError:  # a result of the caller's own
        return None


def headline(result: ScoreResult) -> list[tuple[str, Any]]:
    """``(key, value)`` of the official headline metrics the result has, for the convention it was scored
    under (``details["convention"]``; its benchmark's default when that names none of them)."""
    b = _benchmark(result)
    if b is None:
        return []
    used = str(result.details.get("convention", ""))
    conv = next((c for c in b.conventions if c.name == used), b.conventions[0])
    flat = dict(flatten_metrics(result.metrics))
    return [(k, flat[k]) for k in conv.headline if k in flat]


def _img(fig: Any, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{figure_to_base64_png(fig)}'>"


def _timeline_rows(rows: Sequence[dict[str, Any]]) -> list[tuple[str, float | None, list[Any], list[Any]]]:
    return [(f"{r['id']}  IoU {r['iou']:.2f}", r.get("duration"), r["gt"], r["pred"]) for r in rows]


def build_report(result: ScoreResult, *, top_k: int = 8, max_failures: int = 12, source: str = "") -> str:
    """The HTML page for ``result`` (``ScoreResult.details["rows"]`` drives the per-query sections)."""
    rows: list[dict[str, Any]] = list(result.details.get("rows", []))
    b = _benchmark(result)
    title = f"tempoforge eval report: {result.benchmark}" + (f" ({b.title})" if b else "")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    meta = []
    if source:
        meta.append(f"predictions: <code>{html.escape(source)}</code>")
    if "convention" in result.details:
        meta.append(f"convention: <b>{html.escape(str(result.details['convention']))}</b>")
    if rows:
        counts = Counter(r["status"] for r in rows)
        meta.append("queries: " + ", ".join(f"{html.escape(k)} {v}" for k, v in sorted(counts.items())))
    if meta:
        parts.append("<p>" + " &middot; ".join(meta) + "</p>")
    parts += [f"<p class='warn'>warning: {html.escape(w)}</p>" for w in result.warnings]
    top = headline(result)
    if top:
        parts.append("<p class='headline'>" + " &middot; ".join(
            f"{html.escape(k)} <b>{_value(v)}</b>" for k, v in top) + "</p>")
    parts += ["<h2>Metrics</h2>", _metrics_table(result.metrics)]
    if rows:
        iou_name = str(result.details.get("iou_name", "IoU"))
        ranked = sorted(rows, key=lambda r: (r["iou"], r["id"]))
        k = min(top_k, len(ranked))
        best = list(reversed(ranked[-k:]))
        worst = ranked[:k]
        parts += [
            f"<h2>Best {k} queries</h2>",
            _img(plot_timelines(_timeline_rows(best), title=f"highest {iou_name}"), "best queries"),
            f"<h2>Worst {k} queries</h2>",
            _img(plot_timelines(_timeline_rows(worst), title=f"lowest {iou_name}"), "worst queries"),
            "<h2>IoU distribution</h2>",
            _img(plot_iou_histogram([r["iou"] for r in rows], title=iou_name), "IoU histogram"),
        ]
        failures = [r for r in rows if r["status"] != "ok"]
        parts.append(f"<h2>Parse failures and empty answers ({len(failures)})</h2>")
        if not failures:
            parts.append("<p>none</p>")
        for r in failures[:max_failures]:
            parts.append(
                f"<p><b>{html.escape(str(r['id']))}</b> ({html.escape(r['status'])})</p>"
                f"<pre>{html.escape(str(r.get('answer', ''))[:600]) or '(empty answer)'}</pre>"
            )
    else:
        parts.append("<p>No per-query details for this benchmark.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, result: ScoreResult, **kwargs: Any) -> None:
    """Write :func:`build_report` atomically to ``path``."""
    atomic_write_text(path, build_report(result, **kwargs))

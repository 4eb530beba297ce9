"""``study.html``: the ablation table (mean, per-seed values, 95 % interval, difference to the starting model),
the method arm minus every other arm (the paper's orderings) and every arm's training curves, in one
self-contained page."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from tempoforge.io.jsonl import atomic_write_text

__all__ = ["format_table", "write_study_report"]

BLANK = "_blank"


def _f(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return sum(xs) / len(xs) if xs else float("nan")


def format_table(summary: dict[str, Any], details: dict[str, Any], metric: str) -> list[list[str]]:
    """Rows ``[arm, mean, per seed, 95 % interval, difference to base [interval]]`` of one metric, plus the
    real-minus-blank gap when the study also measured ``<metric>_blank``."""
    rows = []
    blank = metric + BLANK
    for arm, vals in summary["arms"].items():
        lo, hi = summary["intervals"][arm][metric]
        d = details.get("difference_to_base", {}).get(arm, {}).get(metric)
        diff = "" if d is None else f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]"
        row = [arm, _f(_mean(vals[metric])), " / ".join(_f(v) for v in vals[metric]), f"[{_f(lo)}, {_f(hi)}]", diff]
        if blank in vals:
            row.append(_f(_mean(vals[metric]) - _mean(vals[blank])))
        rows.append(row)
    return rows


def _curves_png(details: dict[str, Any]) -> str:
    """One panel per arm: the losses of its stages, one after the other (first seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tempoforge.eval.figures import figure_to_base64_png

    arms = [(a, runs[0]["curves"]) for a, runs in details["runs"].items() if runs and runs[0]["curves"]]
    if not arms:
        return ""
    cols = min(3, len(arms))
    rows = math.ceil(len(arms) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    for ax, (arm, curves) in zip(axes.flat, arms):
        x0 = 0
        for stage, series in curves.items():
            for name, ys in series.items():
                if not ys or name not in ("loss", "reward", "kl", "frac_reward_zero_std", "refusal_share"):
                    continue
                ax.plot(range(x0, x0 + len(ys)), ys, lw=1, label=f"{stage} {name}")
            x0 += max((len(v) for v in series.values()), default=0)
        ax.set_title(arm, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(arms):]:
        ax.axis("off")
    fig.tight_layout()
    src = figure_to_base64_png(fig)
    plt.close(fig)
    return f'<img src="data:image/png;base64,{src}" style="max-width:100%">'


def _sizes(details: dict[str, Any]) -> str:
    """"order_preference: 41 videos, 82 items; ..." (metrics with the same sizes and a _blank twin merged)."""
    parts = []
    for m, groups in details["held_out_groups"].items():
        if m.endswith(BLANK):
            continue
        parts.append(f"{m}: {groups} groups, {details['items_per_seed'][m]} items per seed")
    return "; ".join(parts)


def write_study_report(path: Path, summary: dict[str, Any], details: dict[str, Any]) -> Path:
    """Write ``study.html`` from the two result dicts (``study.json`` and ``details.json``)."""
    e = html.escape
    metrics = list(next(iter(summary["arms"].values())).keys())
    shown = [summary["target"]] + [m for m in metrics if m != summary["target"] and not m.endswith(BLANK)]
    parts = [f"<h1>{e(summary['method'])} study ({e(summary['preset'])})</h1>",
             f"<p>Seeds {e(', '.join(map(str, summary['seeds'])))}; starting model: <b>{e(summary['base_arm'])}</b>; "
             f"the paper's method: <b>{e(summary['method_arm'])}</b>; {details['seconds']:.0f} s in all. "
             "Values are fractions of held-out items; intervals are 95 % bootstrap intervals over held-out "
             f"videos ({e(_sizes(details))}); the difference to the starting model is paired (same resampled "
             "videos).</p>"]
    parts.append("<h2>Arms</h2><ul>" + "".join(f"<li><b>{e(a)}</b>: {e(d)}</li>"
                                                for a, d in details["descriptions"].items()) + "</ul>")
    for m in shown:
        rows = format_table(summary, details, m)
        has_gap = any(len(r) == 6 for r in rows)
        head = ["arm", "mean", "per seed", "95 % interval", "minus starting model [95 %]"]
        head += ["real minus blank frames"] if has_gap else []
        title = m + (" (target)" if m == summary["target"] else "")
        parts.append(f"<h2>{e(title)}</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"
                     + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
                     + "</table>")
    versus = details.get("method_minus_arm", {})
    if versus:
        cols = [summary["target"]] + [m for m in metrics if m != summary["target"]]
        parts.append(f"<h2>The paper's orderings: {e(summary['method_arm'])} minus each arm [95 %, paired]</h2>"
                     "<table><tr><th>arm</th>" + "".join(f"<th>{e(m)}</th>" for m in cols) + "</tr>"
                     + "".join(f"<tr><td>{e(arm)}</td>" + "".join(
                         f"<td>{d[m][0]:+.3f} [{d[m][1]:+.3f}, {d[m][2]:+.3f}]</td>" for m in cols) + "</tr>"
                               for arm, d in versus.items()) + "</table>")
    curves = _curves_png(details)
    if curves:
        parts.append("<h2>Training curves (first seed)</h2>" + curves)
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f1f3f5}")
    atomic_write_text(path, f"<!doctype html><meta charset='utf-8'><title>{e(summary['method'])} study</title>"
                            f"<style>{style}</style>" + "\n".join(parts))
    return path

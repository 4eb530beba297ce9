"""Matplotlib figures for evaluation reports (and the demo): span timelines, IoU histograms, PNG embedding.

Everything uses the ``Agg`` backend through ``matplotlib.figure.Figure`` directly (no pyplot global
state), so it runs headless and in threads. ``matplotlib`` is imported inside the functions to keep
``tempoforge --help`` fast.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["TimelineRow", "figure_to_base64_png", "plot_iou_histogram", "plot_timelines"]

# (label, duration in seconds or None, GT windows, predicted windows)
TimelineRow = tuple[str, float | None, Sequence[Sequence[float]], Sequence[Sequence[float]]]

GT_COLOR = "#2b8a3e"
PRED_COLOR = "#d9480f"


def plot_timelines(rows: Sequence[TimelineRow], *, title: str | None = None, width: float = 9.0) -> Figure:
    """One horizontal timeline per row: GT windows (green, upper band) vs predicted windows (orange, lower).

    ``duration`` sets the axis end (when ``None``, the largest time shown + 5%). Reversed predicted windows
    are drawn as hatched bars from ``min`` to ``max`` so they stay visible; windows past the duration are
    drawn as they are (the axis extends to show them).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    n = max(len(rows), 1)
    fig = Figure(figsize=(width, 0.9 + 0.55 * n), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    labels = []
    x_max = 0.0
    for i, (label, duration, gts, preds) in enumerate(rows):
        y = n - 1 - i
        labels.append(label)
        ends = [float(max(w[0], w[1])) for w in [*gts, *preds]]
        end = max([float(duration or 0.0), *ends, 1.0])
        x_max = max(x_max, end if duration is None else max(end, float(duration)))
        if duration is not None:
            ax.add_patch(_rect(0.0, float(duration), y - 0.4, 0.8, "#f1f3f5", None))
        for w in gts:
            gt_patch = _rect(float(w[0]), float(w[1]), y + 0.02, 0.36, GT_COLOR, None)
            gt_patch.set_edgecolor("white")  # adjacent GT windows stay distinguishable
            ax.add_patch(gt_patch)
        for w in preds:
            s, e = float(w[0]), float(w[1])
            patch = _rect(min(s, e), max(s, e), y - 0.38, 0.36, PRED_COLOR, "///" if s > e else None)
            patch.set_alpha(0.55)  # overlapping predictions stay distinguishable
            patch.set_edgecolor("#7f2704")
            ax.add_patch(patch)
    ax.set_xlim(0, x_max * 1.02 if x_max > 0 else 1.0)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(labels)) or [""], fontsize=8)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(
        handles=[
            Patch(color=GT_COLOR, label="ground truth"),
            Patch(color=PRED_COLOR, alpha=0.55, label="prediction"),
        ],
        loc="upper right",
        fontsize=8,
        bbox_to_anchor=(1.0, 1.0 + 0.35 / n),
        ncol=2,
        frameon=False,
    )
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def _rect(s: float, e: float, y: float, h: float, color: str, hatch: str | None) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(
        (s, y),
        max(e - s, 0.0),
        h,
        facecolor=color,
        edgecolor=color if hatch is None else "black",
        hatch=hatch,
        linewidth=0.5,
    )


def plot_iou_histogram(ious: Sequence[float], *, title: str = "IoU distribution", bins: int = 20) -> Figure:
    """Histogram of per-query IoU in ``[0, 1]`` with the usual thresholds (0.3/0.5/0.7) marked."""
    import numpy as np
    from matplotlib.figure import Figure

    vals = np.asarray([v for v in ious if v is not None and np.isfinite(v)], dtype=np.float64)
    fig = Figure(figsize=(6.0, 3.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(np.clip(vals, 0.0, 1.0), bins=bins, range=(0.0, 1.0), color="#1c7ed6", edgecolor="white")
    for t in (0.3, 0.5, 0.7):
        ax.axvline(t, color="#495057", linestyle="--", linewidth=0.8)
    ax.set_xlabel("IoU")
    ax.set_ylabel("queries")
    ax.set_title(f"{title} (n={len(vals)}, mean={vals.mean() if len(vals) else 0.0:.3f})", fontsize=10)
    fig.tight_layout()
    return fig


def figure_to_base64_png(fig: Figure) -> str:
    """Render ``fig`` to PNG and return it base64-encoded (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")

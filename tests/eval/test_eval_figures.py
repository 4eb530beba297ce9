"""Report figures: timelines of spans and the IoU histogram (rendered headless with Agg)."""

from __future__ import annotations

import base64

from tempoforge.eval.figures import figure_to_base64_png, plot_iou_histogram, plot_timelines


def test_plot_timelines_rows_axis_and_png() -> None:
    rows = [
        ("q1", 30.0, [[0, 10]], [[2, 12], [20, 25]]),
        ("q2", None, [[5, 8]], [[40, 35]]),  # unknown duration, reversed prediction past the GT
    ]
    fig = plot_timelines(rows, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q2", "q1"]  # first row on top
    assert ax.get_xlim()[1] >= 40  # the reversed window [40, 35] is shown, past q1's 30 s
    # 2 duration bands + 2 GT + 3 predictions
    assert len(ax.patches) == 1 + 2 + 3
    png = base64.b64decode(figure_to_base64_png(fig))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_iou_histogram_ignores_nan_and_counts() -> None:
    fig = plot_iou_histogram([0.1, 0.55, 0.9, float("nan")])
    ax = fig.axes[0]
    assert "n=3" in ax.get_title()
    assert sum(p.get_height() for p in ax.patches) == 3

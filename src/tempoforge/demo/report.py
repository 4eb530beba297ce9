"""The demo's ``report.html``: one self-contained page (figures embedded as PNG) a newcomer can open."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tempoforge.demo.stages import DemoContext

__all__ = ["headline_metrics", "write_demo_report"]


LABELS = {
    "order_preference": "arrow of time: prefers the true reading over the time-reversed one",
    "order_preference_blank": "  the same with grey frames (chance by construction)",
    "grounding_r1_at_0.7": "grounding R@1 IoU=0.7",
    "grounding_miou": "grounding mIoU",
    "grounding_miou_blank": "  grounding mIoU with grey frames",
}


def headline_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The numbers the summary table compares (held-out, fractions): the arrow-of-time probe and grounding,
    each also with grey frames."""
    return {LABELS.get(k, k): float(v["value"]) for k, v in result["metrics"].items()}


def _interval(v: dict[str, Any]) -> str:
    lo, hi = v["interval"]
    return f"{_fmt(v['value'])} [{_fmt(lo)}, {_fmt(hi)}]"


def _difference(v: dict[str, Any]) -> str:
    if "difference" not in v:
        return ""
    d, lo, hi = v["difference"]
    return f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _png(fig: Any) -> str:
    from tempoforge.eval.figures import figure_to_base64_png

    return f'<img src="data:image/png;base64,{figure_to_base64_png(fig)}" style="max-width:100%">'


def _array_png(img: Any) -> str:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}" style="max-width:100%">'


def _bars(before: dict[str, float], after: dict[str, float]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in before if not k.startswith("  ")]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    xs = range(len(keys))
    ax.bar([x - 0.2 for x in xs], [before[k] for k in keys], width=0.4, label="before TEMPLE", color="#868e96")
    ax.bar([x + 0.2 for x in xs], [after[k] for k in keys], width=0.4, label="after TEMPLE", color="#1971c2")
    ax.set_xticks(list(xs), [k.split(":")[0] for k in keys], fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("held-out metrics before and after TEMPLE")
    fig.tight_layout()
    return fig


def _curves(curves: dict[str, list[float]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, len(curves)), figsize=(3.0 * max(1, len(curves)), 2.6), squeeze=False)
    for ax, (name, losses) in zip(axes[0], curves.items(), strict=False):
        ax.plot(range(1, len(losses) + 1), losses, color="#1971c2")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("loss", fontsize=8)
    fig.tight_layout()
    return fig


def _timelines(rows: list[dict[str, Any]], title: str) -> Any:
    from tempoforge.eval.figures import plot_timelines

    sel = rows[:8]
    return plot_timelines([(f"{r['id']}", r["duration"], r["gt"], r["pred"]) for r in sel], title=title)


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def write_demo_report(ctx: DemoContext) -> Path:
    """Render ``ctx.out / report.html`` from the stage results."""
    from tempoforge.io import sample
    from tempoforge.io.jsonl import atomic_write_text
    from tempoforge.io.overlay import contact_sheet
    from tempoforge.world import load_world

    res = ctx.results
    before, after = headline_metrics(res["eval_before"]), headline_metrics(res["eval_after"])
    held = load_world(res["world"]["heldout"])
    first = held.scripts[0].id
    frames = sample(held.video_path(first), fps=1.0)
    sheet = contact_sheet(frames.data, frames.times.tolist(), cols=8, tile_width=112)
    figs_dir = ctx.dir("figures")
    from tempoforge.world import show_video

    show_png = figs_dir / f"{first}_timeline.png"
    show_video(held.script(first), held.video_path(first), show_png)
    curves = {"base SFT": res["base"]["loss"]}
    for name, c in res["temple"]["curves"].items():
        curves[name] = c["loss"]
    mb, ma = res["eval_before"]["metrics"], res["eval_after"]["metrics"]
    rows = "".join(f"<tr><td>{html.escape(LABELS.get(k, k))}</td><td>{_interval(mb[k])}</td><td>{_interval(ma[k])}</td>"
                   f"<td>{_difference(ma[k])}</td></tr>" for k in mb)
    import base64

    show_img = f'<img src="data:image/png;base64,{base64.b64encode(show_png.read_bytes()).decode()}" style="max-width:100%">'
    cur = res.get("curate", {})
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>tempoforge demo</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}} td:first-child{{text-align:left}}
h2{{border-bottom:1px solid #ddd}} code{{background:#f4f4f4}}</style></head><body>
<h1>tempoforge demo</h1>
<p>TempoWorld videos ({res['world']['train_videos']} train: the starting model learns from the first
{res['world']['base_videos']}, TEMPLE from the other {res['world']['temple_videos']}; {res['world']['heldout_videos']}
held-out from another world seed; every video comes with its time-reversed twin) &rarr; curation &rarr; a tiny
{html.escape(ctx.config.family)} trained from scratch &rarr; TEMPLE ({res['temple']['pairs']} perturbation pairs,
stages {', '.join(res['temple']['stages'])}) &rarr; evaluation on held-out videos. Seed {ctx.config.seed}; every
stage's outputs are in <code>{html.escape(str(ctx.out))}</code>. This is the method arm of
<code>tempoforge study temple --preset {html.escape(ctx.config.study)}</code>, which also runs the paper's ablations
and the controls.</p>
<h2>Before and after TEMPLE</h2>
<table><tr><th>metric (held-out)</th><th>before [95 %]</th><th>after [95 %]</th><th>after &minus; before [95 %]</th></tr>{rows}</table>
<p>Intervals: bootstrap over held-out videos (a video and its twin resampled together); the difference is paired.
Arrow of time: for a held-out video and its time-reversed twin, how often the model gives the true chronological
description a higher log-probability than the twin's (the same events read backwards, each action replaced by its
opposite). Every description is the right answer for one video and the wrong one for the other, so a model that
does not look at the frames scores exactly 0.5: the grey-frames rows show it. Grounding is scored under the
<code>etchat</code> convention (failed parses count as 0).</p>
{_png(_bars(before, after))}
<h2>What the model sees: frames with their true times</h2>{_array_png(sheet)}
<h2>Ground truth of a held-out video</h2>{show_img}
<h2>Predicted vs true spans</h2>
{_png(_timelines(res['eval_before']['rows'], 'before TEMPLE'))}
{_png(_timelines(res['eval_after']['rows'], 'after TEMPLE'))}
<h2>Training curves</h2>{_png(_curves(curves))}
<h2>Curation</h2><pre>{html.escape(str(cur))}</pre>
</body></html>"""
    path = ctx.out / "report.html"
    atomic_write_text(path, page)
    return path

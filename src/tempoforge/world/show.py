"""The timeline picture of one video: sampled frames on top, one labelled bar per shot / event / static
stretch below, on a shared seconds axis (matplotlib, Agg backend).

Frames are decoded from the encoded video with ``tempoforge.io.sample`` (what a model would see, at the
frames' true presentation times), not re-rendered from the script.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tempoforge.io import sample
from tempoforge.timecode import uniform_times
from tempoforge.world.scene import VideoScript
from tempoforge.world.vocab import BACKGROUNDS, COLORS

__all__ = ["show_video"]


def _rgb(c: tuple[int, int, int]) -> tuple[float, float, float]:
    return (c[0] / 255, c[1] / 255, c[2] / 255)


def show_video(script: VideoScript, video: str | Path, out: str | Path, *, num_frames: int = 8,
               max_event_rows: int = 16) -> Path:
    """Draw ``script``'s timeline under ``num_frames`` frames sampled from ``video``; write a PNG to ``out``.

    Up to ``max_event_rows`` events get one row each, labelled with their caption and span; with more (long
    videos) there is one row per object instead, each bar labelled with its action.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    frames = sample(video, times=uniform_times(0.0, script.duration, num=num_frames))
    rows: list[tuple[str, list[tuple[float, float, tuple[float, float, float], str, str]]]] = []
    shot_bars = [(s.start, s.end, _rgb(BACKGROUNDS[s.background]), f"shot {s.index}: {s.background}", "")
                 for s in script.shots]
    shot_bars += [(t.start, t.end, (1.0, 1.0, 1.0), t.kind, "//") for t in script.transitions if t.kind != "cut"]
    rows.append(("shots", shot_bars))
    rows.append(("static", [(a, b, (0.8, 0.8, 0.8), "static", "") for a, b in script.static_spans]))
    per_object = len(script.events) > max_event_rows
    if per_object:  # long videos: one row per object, bars labelled with the action only
        for obj in script.objects:
            evs = script.events_of(obj.id)
            if evs:
                rows.append((f"{obj.color} {obj.shape}", [
                    (e.start, e.end, _rgb(COLORS[e.subject.split(" ")[1]]), e.key, "") for e in evs]))
    else:
        for ev in sorted(script.events, key=lambda e: (e.start, e.index)):
            color = ev.subject.split(" ")[1]
            rows.append((f"event {ev.index}", [(ev.start, ev.end, _rgb(COLORS[color]), ev.caption, "")]))

    n_rows = len(rows)
    fig_w = 16.0
    frame_h = fig_w / num_frames * script.height / script.width
    fig_h = frame_h + 0.9 + 0.38 * n_rows + 1.3
    fig = plt.figure(figsize=(fig_w, fig_h))
    gs = fig.add_gridspec(2, num_frames, height_ratios=[frame_h + 0.3, 0.38 * n_rows + 0.3], hspace=0.9 / fig_h,
                          left=0.07, right=0.99, top=1 - 0.6 / fig_h, bottom=0.65 / fig_h, wspace=0.04)
    for i in range(len(frames)):
        ax = fig.add_subplot(gs[0, i])
        ax.imshow(frames.data[i], interpolation="nearest")
        ax.set_title(f"t = {frames.times[i]:.2f} s", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    tl = fig.add_subplot(gs[1, :])
    d = script.duration
    for r, (_label, bars) in enumerate(rows):
        y = n_rows - 1 - r
        for a, b, face, text, hatch in bars:
            tl.add_patch(Rectangle((a, y + 0.12), max(b - a, d * 0.002), 0.76, facecolor=face, edgecolor="black",
                                   linewidth=0.6, hatch=hatch))
            if hatch:  # a dissolve / fade: always named, on a white box over the bar
                tl.text((a + b) / 2, y + 0.5, text, ha="center", va="center", fontsize=7.5,
                        bbox={"facecolor": "white", "edgecolor": "black", "pad": 1.5, "linewidth": 0.5})
            elif r < 2 or per_object:  # shots / static / per-object rows: label inside the bar when it fits
                if (b - a) > d * (0.06 if r < 2 else 0.012 * len(text)):
                    dark = float(np.mean(face)) < 0.45
                    tl.text((a + b) / 2, y + 0.5, text, ha="center", va="center", fontsize=8,
                            color="white" if dark else "black", clip_on=True)
            else:  # events: the caption beside the bar, on the side with room
                right = b + d * 0.006 < d * 0.7
                tl.text(b + d * 0.006 if right else a - d * 0.006, y + 0.5,
                        f"{text}  [{a:g}-{b:g} s]", ha="left" if right else "right", va="center", fontsize=8.5)
    for t in script.cut_times:
        tl.axvline(t, color="red", linestyle="--", linewidth=1.0)
    for t in frames.times:
        tl.axvline(float(t), color="0.35", linestyle=":", linewidth=0.8)
    tl.set_xlim(0, d)
    tl.set_ylim(0, n_rows)
    tl.set_yticks([n_rows - 1 - r + 0.5 for r in range(n_rows)], [label for label, _ in rows], fontsize=8.5)
    tl.set_xlabel("time (s)   ·   red dashes: hard cuts   ·   hatched: dissolve / fade   ·   dotted: sampled frames above")
    tl.grid(axis="x", color="0.9")
    tl.set_axisbelow(True)
    kind = "causal chain" if script.causal else "unrelated events"
    fig.suptitle(f"{script.id}: {d:g} s at {script.fps:g} fps, {script.width}x{script.height}, {len(script.shots)} "
                 f"shot(s), {len(script.events)} events, {kind}", fontsize=12)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

"""``tempoforge demo``: the main job end to end on embedded data, on a CPU, with outputs kept for inspection.

The demo grows with the toolkit: each stage is a function ``stage(ctx) -> dict`` that writes its outputs
under ``ctx.out / <stage>`` and returns a summary; ``run_demo`` runs the stages in order with a progress
line per stage and prints where everything is.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoContext", "register", "run_demo"]


@dataclass
class DemoContext:
    """Where the demo writes, and what earlier stages produced."""

    out: Path
    seed: int = 0
    preset: str = "tiny"
    quiet: bool = False
    results: dict[str, Any] = field(default_factory=dict)


def stage_clip(ctx: DemoContext) -> dict[str, Any]:
    """Render a short clip with a known event: a red square visible from 2.0 s to 5.0 s."""
    import numpy as np

    from tempoforge.io import write_video

    fps, seconds, size = 10, 8, 112
    frames = []
    for i in range(fps * seconds):
        t = i / fps
        img = np.full((size, size, 3), 30, np.uint8)
        if 2.0 <= t < 5.0:
            x = int(10 + (t - 2.0) * 20)
            img[40:72, x:x + 32] = (220, 40, 40)
        frames.append(img)
    path = write_video(ctx.out / "clip" / "red_square.mp4", frames, fps)
    return {"video": str(path), "event": "the red square is visible from 2.0 to 5.0 s"}


def stage_sample(ctx: DemoContext) -> dict[str, Any]:
    """Sample the clip at 2 fps with exact frame times and write a contact sheet."""
    from PIL import Image

    from tempoforge.io import probe, sample
    from tempoforge.io.overlay import contact_sheet

    video = Path(ctx.results["clip"]["video"])
    info = probe(video)
    frames = sample(video, fps=2.0)
    out = ctx.out / "sample"
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(contact_sheet(frames.data, frames.times.tolist(), cols=8, tile_width=160)).save(out / "sheet.png")
    (out / "frames.json").write_text(json.dumps({"times": frames.times.tolist()}, indent=1))
    return {"duration": info.duration, "frames": len(frames), "sheet": str(out / "sheet.png")}


STAGES: list[tuple[str, Callable[[DemoContext], dict[str, Any]]]] = [
    ("clip", stage_clip),
    ("sample", stage_sample),
]


def run_demo(out: Path, *, seed: int = 0, preset: str = "tiny", quiet: bool = False) -> DemoContext:
    """Run every demo stage in order; returns the context with each stage's summary."""
    ctx = DemoContext(out=out, seed=seed, preset=preset, quiet=quiet)
    out.mkdir(parents=True, exist_ok=True)
    total = len(STAGES)
    for k, (name, fn) in enumerate(STAGES, start=1):
        t0 = time.perf_counter()
        if not quiet:
            print(f"[{k}/{total}] {name} ...", flush=True)
        ctx.results[name] = fn(ctx)
        if not quiet:
            print(f"      done in {time.perf_counter() - t0:.1f} s: {ctx.results[name]}", flush=True)
    (out / "summary.json").write_text(json.dumps(ctx.results, indent=2, default=str))
    return ctx


def _main(args: argparse.Namespace) -> int:
    ctx = run_demo(Path(args.out), seed=args.seed, preset=args.preset, quiet=args.quiet)
    print(f"\nAll outputs are in {ctx.out.resolve()} (summary.json lists them).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on embedded data (CPU, minutes)",
                       description="Run tempoforge end to end on embedded synthetic data with a tiny model "
                       "and keep every stage's outputs for inspection.")
    p.add_argument("--out", default="tempoforge-demo", help="output folder (default: ./tempoforge-demo)")
    p.add_argument("--seed", type=int, default=0, help="random seed (the demo is deterministic for a seed)")
    p.add_argument("--preset", default="tiny", choices=["tiny"], help="size of the run")
    p.set_defaults(func=_main)

"""``tempoforge study METHOD --out DIR [--preset quick|full] [--seeds ...]``: one method's ablation table."""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import Any

__all__ = ["STUDIES", "register"]

# method -> module with PRESETS (name -> preset with .seeds) and make_study(preset, quiet)
STUDIES: dict[str, str] = {
    "temple": "tempoforge.study.temple",
    "tempo-r0": "tempoforge.study.tempo_r0",
    "tempura": "tempoforge.study.tempura",
    "d2vlm": "tempoforge.study.d2vlm",
}

DESCRIPTION = """Run a method's ablation study on TempoWorld and write OUT/study.json, OUT/details.json and
OUT/study.html.

For each seed: generate a training world and a held-out world (another world seed), train the starting
model, train every arm of the paper's ablation from it with the same number of optimiser steps, and score
every model on the held-out videos, with real frames and with grey frames (the control that shows the score
comes from the video). study.json holds, per arm and metric, the value of every seed and a 95 % bootstrap
interval over held-out videos; details.json the paired differences to the starting model, training curves and
timings. Every (seed, arm) is saved when done: rerun the same command to resume.

Presets: quick (one seed, <= 10 minutes on 2 cores), full (three seeds, <= 30 minutes), smoke (seconds; wiring
only). Studies are measurements: never tune a method on the seeds you report.
"""


def make_study(method: str, preset: str, quiet: bool, base_from: Path | None = None) -> tuple[Any, tuple[int, ...]]:
    """The study object of ``method`` at ``preset`` and the preset's default seeds."""
    from tempoforge.errors import UserError

    module = importlib.import_module(STUDIES[method])
    if preset not in module.PRESETS:
        raise UserError(f"unknown preset {preset!r} for the {method} study; choose {', '.join(module.PRESETS)}")
    p = module.PRESETS[preset]
    if base_from is not None:
        if method == "temple":
            raise UserError("--base-from is for the studies that start from the TEMPLE study's model "
                            "(tempo-r0, tempura, d2vlm)")
        return module.make_study(p, quiet=quiet, base_from=base_from), tuple(p.seeds)
    return module.make_study(p, quiet=quiet), tuple(p.seeds)


def _main(args: argparse.Namespace) -> int:
    import torch

    from tempoforge.study.core import run_study
    from tempoforge.study.report import format_table

    torch.set_num_threads(args.threads)
    study, seeds = make_study(args.method, args.preset, args.quiet,
                              Path(args.base_from) if args.base_from else None)
    res = run_study(study, Path(args.out), args.seeds or list(seeds), arms=args.arms, quiet=args.quiet,
                    workers=args.workers)
    target = res.summary["target"]
    print(f"\n{target} on held-out videos (mean | per seed | 95 % interval | minus {res.summary['base_arm']}"
          + (" | real minus blank" if f"{target}_blank" in res.summary["arms"][res.summary["base_arm"]] else "") + ")")
    for row in format_table(res.summary, res.details, target):
        print("  " + " | ".join(row))
    print(f"\n{res.out / 'study.json'}\n{res.out / 'study.html'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="a method's ablation table on TempoWorld, with controls and intervals",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("method", choices=sorted(STUDIES), help="the method to study")
    p.add_argument("--out", required=True, help="work folder (everything is cached here; rerun to resume)")
    p.add_argument("--preset", default="quick", choices=("quick", "full", "smoke"),
                   help="quick: one seed, <= 10 min; full: three seeds, <= 30 min; smoke: seconds (default quick)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: the preset's)")
    p.add_argument("--arms", nargs="+", default=None, help="only these arms (the starting model is always scored)")
    p.add_argument("--base-from", default=None, help="tempo-r0, tempura, d2vlm: reuse the worlds and starting models of a "
                   "TEMPLE study folder made with the same preset (saves training the starting model again)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes, one thread each: arms trained at once and, with several seeds, the seeds' "
                   "starting models too, interleaved with other seeds' arms; the numbers do not depend on it (default: 2)")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1),
                   help="torch threads of the main process: the starting model's training when it runs there (one seed, or "
                   "--workers 1) (default: 2, or 1 on a one-core "
                   "machine; measured on 2 cores: 6.6 training steps/s with 2 threads vs 4.2 with 1)")
    p.set_defaults(func=_main)

"""``tempoforge curate``: raw videos -> kept.jsonl / rejected.jsonl / stats.json and keyframe images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tempoforge.cli_parts import add_command

__all__ = ["register"]

_DESCRIPTION = """\
Curate a folder (or manifest) of videos with the steps of a preset: one low-res decode pass computes
per-frame signals (content change, grey range, sharpness, colour embedding); shots, static filtering,
grouping, keyframes, adaptive frame selection and frame grids are computed from them.

Writes OUT/kept.jsonl, OUT/rejected.jsonl (every dropped video with its step and reason),
OUT/stats.json (counts per reason, seconds per step), OUT/keyframes/ and OUT/grids/ images, and a
signal cache in OUT/cache/. Interrupted runs resume: run the same command again.

Presets (--config NAME): temple (TEMPLE video selection and keyframes), tempura (static filter,
adaptive frames, frame grids)."""


def _handler(args: argparse.Namespace) -> int:
    from tempoforge.config import load_config
    from tempoforge.curate.config import CurateConfig
    from tempoforge.curate.pipeline import curate

    config = load_config(CurateConfig, args.config, args)
    runner = None
    if args.runner == "ray":
        from tempoforge.curate.runners.ray import run_ray

        runner = run_ray
    from tempoforge.curate.summary import summary_lines

    result = curate(args.input, args.out, config, runner=runner, workers=args.workers,
                    progress=not getattr(args, "quiet", False))
    for line in summary_lines(result.stats, Path(args.out), result.total, result.skipped):
        print(line, file=sys.stderr)
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    from tempoforge.config import add_dataclass_arguments
    from tempoforge.curate.config import CurateConfig
    from tempoforge.presets import add_config_argument

    p.add_argument("--in", dest="input", required=True, metavar="INPUT",
                   help="a video, a folder of videos (searched recursively), a list of paths (.txt: one per line; "
                        ".jsonl: a 'path' per line) or a quoted glob such as 'videos/**/*.mp4'")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; resumed if it exists)")
    add_config_argument(p, "curate", "CurateConfig")
    p.add_argument("--runner", choices=["local", "ray"], default="local",
                   help="local process pool, or Ray Data (needs the 'ray' extra) (default: local)")
    p.add_argument("--workers", type=int, default=1,
                   help="parallel worker processes, each decoding with its share of the cores (default: 1, which "
                        "already decodes on every core; more pays off for many long videos or on many cores)")
    add_dataclass_arguments(p, CurateConfig)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "curate", _arguments,
                    help="select videos, detect shots, extract keyframes (TEMPLE / TEMPURA)",
                    description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=_handler)

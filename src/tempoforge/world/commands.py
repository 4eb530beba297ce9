"""CLI: ``tempoforge world generate`` and ``tempoforge world show``."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from tempoforge.cli_parts import add_command

__all__ = ["register"]


def _parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 84x84, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _generate(args: argparse.Namespace) -> int:
    from tempoforge.config import load_config, read_yaml
    from tempoforge.world.config import PRESETS, WorldConfig
    from tempoforge.world.generate import generate_world

    if args.preset not in PRESETS:
        raise ValueError(f"unknown preset {args.preset!r}; choose one of {sorted(PRESETS)}")
    values: dict[str, Any] = {**PRESETS[args.preset], "preset": args.preset}
    if args.config is not None:
        values.update(read_yaml(args.config))
    if args.size is not None:
        values["width"], values["height"] = args.size
    cfg = load_config(WorldConfig, None, args, overrides=values)
    t0 = time.perf_counter()
    world = generate_world(args.out, args.videos, seed=args.seed, config=cfg, progress=not args.quiet)
    dt = time.perf_counter() - t0
    print(f"wrote {len(world.scripts)} videos ({cfg.width}x{cfg.height}, {cfg.fps:g} fps, preset "
          f"{cfg.preset}) to {world.root / 'videos'}, annotations to {world.root / 'annotations'} and "
          f"{world.root / 'world.json'} in {dt:.1f} s ({len(world.scripts) / dt:.1f} videos/s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from tempoforge.world.generate import load_world
    from tempoforge.world.show import show_video

    target = Path(args.video)
    if target.suffix == ".mp4" or target.is_file():
        root = Path(args.world) if args.world else target.resolve().parent.parent
        video_id = target.stem
    else:
        root = Path(args.world or ".")
        video_id = args.video
    world = load_world(root)
    script = world.script(video_id)
    path = target if target.is_file() else world.video_path(video_id)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found (was the world generated completely?)")
    out = show_video(script, path, args.out, num_frames=args.frames)
    print(f"wrote {out}")
    return 0


def _generate_arguments(g: argparse.ArgumentParser) -> None:
    from tempoforge.config import add_dataclass_arguments
    from tempoforge.world.config import WorldConfig

    g.add_argument("--out", required=True, type=Path, help="output folder")
    g.add_argument("--videos", required=True, type=int, help="number of videos")
    g.add_argument("--seed", type=int, default=0, help="world seed; video i uses the generator (seed, i) (default: 0)")
    g.add_argument("--preset", default="tiny", choices=["tiny", "standard", "long"],
                   help="tiny: 56x56, 8-16 s, 2-4 events (CPU-learnable); standard: 224x224, 30-90 s, 4-12 "
                   "events, several shots; long: 168x168, 5-10 min (default: tiny)")
    g.add_argument("--config", type=Path, default=None, help="YAML file overriding preset fields")
    g.add_argument("--size", type=_parse_size, default=None, help="frame size WIDTHxHEIGHT (even numbers)")
    add_dataclass_arguments(g, WorldConfig, skip=("preset", "width", "height"))


def register(sub: argparse._SubParsersAction) -> None:
    world = sub.add_parser(
        "world", help="TempoWorld: synthetic videos with exact temporal ground truth",
        description="TempoWorld renders videos from a script (shapes that appear, move, grow, change colour "
        "... over known spans, with shots, cuts, dissolves and static stretches), so every event's start and "
        "end is known exactly. Annotations come in the official formats of real benchmarks.")
    wsub = world.add_subparsers(dest="world_command", metavar="SUBCOMMAND")

    g = add_command(
        wsub, "generate", _generate_arguments, help="render N videos with their annotations",
        description="Render videos to OUT/videos/*.mp4, write OUT/annotations/ (ActivityNet-Captions dense "
        "captions, Charades-STA text + GroundingSample JSONL, QVHighlights JSONL, refusal queries, "
        "multiple-choice questions, E.T.Bench-style samples) and OUT/world.json (config + ground truth). "
        "Same seed and config give identical files. A rerun renders only missing videos. Settings: preset < "
        "--config YAML < flags.")
    g.set_defaults(func=_generate)

    s = wsub.add_parser(
        "show", help="draw a video's timeline picture (frames + event bars) to a PNG",
        description="Draw sampled frames (decoded from the video, with their times) above one labelled bar "
        "per shot, static stretch and event.")
    s.add_argument("video", help="a video id (e.g. tw00003; with --world) or the path of a world's .mp4")
    s.add_argument("--out", required=True, type=Path, help="PNG to write")
    s.add_argument("--world", default=None, help="the world folder (default: the video's ../ or the current "
                   "folder for an id)")
    s.add_argument("--frames", type=int, default=8, help="number of frames to show (default: 8)")
    s.set_defaults(func=_show)

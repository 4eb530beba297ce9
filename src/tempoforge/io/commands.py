"""CLI: ``tempoforge video probe`` and ``tempoforge video sample``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register"]


def _probe(args: argparse.Namespace) -> int:
    from tempoforge.io import probe
    from tempoforge.io.probe import truncation_warning

    info = probe(args.path, stream=args.stream)
    print(json.dumps(info.to_json_dict(), indent=2))
    if (warning := truncation_warning(info)) is not None:
        print(f"warning: {args.path}: {warning}", file=sys.stderr)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from PIL import Image

    from tempoforge.io import sample
    from tempoforge.io.jsonl import atomic_write_text
    from tempoforge.io.overlay import contact_sheet, draw_timestamp

    if args.fps is None and args.num_frames is None:
        args.fps = 1.0
    if args.fps is not None and args.num_frames is not None:
        raise ValueError("give --fps or --num-frames, not both")
    frames = sample(
        args.path, fps=args.fps, num_frames=args.num_frames, max_frames=args.max_frames, start=args.start,
        end=args.end, max_pixels=args.max_pixels, stream=args.stream,
    )
    for w in frames.warnings:
        print(f"warning: {w}", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (img, t) in enumerate(zip(frames.data, frames.times, strict=True)):
        name = f"frame_{i:05d}.png"
        Image.fromarray(draw_timestamp(img, float(t)) if args.overlay else img).save(out / name)
        row = {"index": i, "time": float(t), "file": name}
        if frames.requested is not None:
            row["requested"] = float(frames.requested[i])
        rows.append(row)
    atomic_write_text(out / "frames.json", json.dumps({"video": str(args.path), "frames": rows}, indent=1))
    if args.sheet:
        Image.fromarray(contact_sheet(frames.data, frames.times.tolist())).save(out / "sheet.png")
    print(f"wrote {len(rows)} frames to {out}" + (f" and {out / 'sheet.png'}" if args.sheet else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    video = sub.add_parser("video", help="inspect and sample videos with exact frame times",
                           description="Inspect and sample videos. Every sampled frame carries its true "
                           "presentation time in seconds.")
    vsub = video.add_subparsers(dest="video_command", metavar="SUBCOMMAND")

    p = vsub.add_parser("probe", help="print a video's duration, fps, frame count, size, rotation as JSON",
                        description="Print the VideoInfo of a video as JSON (frame count from the packet "
                        "index, variable frame rate measured from frame intervals).")
    p.add_argument("path", help="video file")
    p.add_argument("--stream", type=int, default=0, help="which video stream (0 = the first)")
    p.set_defaults(func=_probe)

    s = vsub.add_parser("sample", help="write sampled frames as PNG with their times",
                        description="Sample frames (decoding only what is needed) and write them as PNG, "
                        "frames.json (index, time in seconds, requested time) and optionally a contact sheet.")
    s.add_argument("path", help="video file")
    s.add_argument("--fps", type=float, default=None, help="frames per second to sample (default 1 when "
                   "--num-frames is not given)")
    s.add_argument("--num-frames", type=int, default=None, help="sample this many frames evenly over the range")
    s.add_argument("--max-frames", type=int, default=None, help="cap the number of frames; the cap is spread "
                   "over the whole range (the end is never dropped)")
    s.add_argument("--start", type=float, default=None, help="start of the range in seconds (default 0)")
    s.add_argument("--end", type=float, default=None, help="end of the range in seconds (default: the end)")
    s.add_argument("--max-pixels", type=int, default=None, help="resize frames to at most this many pixels")
    s.add_argument("--stream", type=int, default=0, help="which video stream (0 = the first)")
    s.add_argument("--overlay", action="store_true", help="burn each frame's time into its top-left corner")
    s.add_argument("--sheet", action="store_true", help="also write sheet.png, a contact sheet with times")
    s.add_argument("--out", required=True, help="output folder")
    s.set_defaults(func=_sample)
    video.set_defaults(func=lambda _args: video.print_help() or 2)

"""Frames -> Qwen vision inputs: tempoforge's torch tensorizer vs the stock PIL image processor path.

64 RGB frames of 448x448 (random content, seeded). Without torchvision the only stock path is
``Qwen2VLImageProcessorPil`` frame by frame (each frame an image, duplicated over the temporal patch), so
that is the peer. tempoforge is timed three ways: the real video input (2 frames per temporal patch: half
the rows of the image path), each frame as an image with torch's resize (the same rows as the stock path),
and each frame as an image with PIL's resize (bit-identical to the stock output). Two settings: the frames already on the patch grid (no resize) and a resize to
224x224 (``max_pixels = 224 * 224``). Each (path, setting) runs in a fresh subprocess; time is the
median of ``--repeat`` runs after one warm-up, peak memory the growth of the process's maximum RSS over
its baseline after the inputs exist (``resource.getrusage``; torch allocations are invisible to
tracemalloc). Threads: ``--threads`` (default 1, so that both paths use one core).

    .venv/bin/python benchmarks/tensorize.py [--frames 64] [--size 448] [--repeat 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

PATHS = ("tempoforge video (torch)", "tempoforge images (torch)", "tempoforge images (PIL, bit-exact)",
         "stock PIL image processor")


def _run_one(path: str, frames: int, size: int, max_pixels: int, repeat: int, threads: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from tempoforge.models.tensorize import VisionSpec, tensorize_images, tensorize_video

    torch.set_num_threads(threads)
    data = np.random.default_rng(0).integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    spec = VisionSpec(min_pixels=56 * 56, max_pixels=max_pixels, video_min_pixels=56 * 56, video_max_pixels=max_pixels)
    if path.startswith("stock"):
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        proc = Qwen2VLImageProcessorPil(min_pixels=spec.min_pixels, max_pixels=max_pixels)
        images = list(data)

        def fn() -> Any:
            return proc(images=images, return_tensors="pt")["pixel_values"]
    elif "PIL" in path:
        def fn() -> Any:
            return tensorize_images(data, spec, resample="pil", video_sizing=False).pixel_values
    elif "images" in path:
        def fn() -> Any:
            return tensorize_images(data, spec, resample="torch", video_sizing=False).pixel_values
    else:
        def fn() -> Any:
            return tensorize_video(data, spec, resample="torch").pixel_values
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times), "peak_mib": peak / 1024, "rows": int(out.shape[0]),
            "cols": int(out.shape[1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=64, help="number of frames (default 64)")
    ap.add_argument("--size", type=int, default=448, help="frame side in pixels (default 448)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per path (median reported)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--child", nargs=2, metavar=("PATH", "MAX_PIXELS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_run_one(args.child[0], args.frames, args.size, int(args.child[1]), args.repeat,
                                  args.threads)))
        return
    settings = [("on grid (no resize)", args.size * args.size), ("resize to 224x224", 224 * 224)]
    print(f"{args.frames} frames of {args.size}x{args.size}, median of {args.repeat}, {args.threads} torch thread(s)")
    print("| setting | path | time (s) | speedup vs stock | peak RSS growth (MiB) | output |")
    print("|---|---|---:|---:|---:|---|")
    for name, max_pixels in settings:
        res = {}
        for path in PATHS:
            cmd = [sys.executable, __file__, "--frames", str(args.frames), "--size", str(args.size), "--repeat",
                   str(args.repeat), "--threads", str(args.threads), "--child", path, str(max_pixels)]
            res[path] = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        stock = res[PATHS[-1]]["seconds"]
        for path in PATHS:
            r = res[path]
            print(f"| {name} | {path} | {r['seconds']:.3f} | {stock / r['seconds']:.2f}x | {r['peak_mib']:.0f} | "
                  f"{r['rows']}x{r['cols']} |")


if __name__ == "__main__":
    main()

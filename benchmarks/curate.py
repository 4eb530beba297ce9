"""Curation speed: videos per minute of a preset vs PySceneDetect's AdaptiveDetector alone, in one run.

    .venv/bin/python benchmarks/curate.py --videos ../shared/datasets/videos \
        --config configs/curate/temple.yaml [--detector adaptive ...] [--repeat 3]

The preset runs sequentially (one worker) in a fresh output folder each repeat (no cache hits), once per
``--detector`` (default: the preset's own detector, and ``adaptive``); PySceneDetect runs
``scenedetect.detect(path, AdaptiveDetector())``, which opens and decodes the file itself (its default
auto-downscale). All see the same videos on the same machine in one benchmark run, in interleaved rounds,
each round in a fresh process (no contender inherits another's caches or OpenCV settings; imports and
model loading are not timed); the best of ``--repeat`` rounds is reported. ``--agreement`` also prints, per video, the cuts of each detector
(adaptive, content, transnetv2) and their pairwise agreement (F1 within ``--tolerance`` seconds);
``--accuracy WORLD_DIR`` scores each detector against a TempoWorld folder's exact shot boundaries.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tempoforge.config import load_config
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.pipeline import curate, list_inputs, process_video
from tempoforge.curate.shots import match_cuts


def time_one(videos: Path, config: Path, contender: str) -> float:
    """Seconds of one run of ``contender`` (a detector name: the preset with it; ``pyscenedetect``: its
    AdaptiveDetector alone), imports and model loading excluded. Runs in a fresh process (``--time-one``) so
    no contender inherits another's global state (OpenCV's thread setting alone moves PySceneDetect by 25%)."""
    items = list_inputs(videos)
    if contender == "pyscenedetect":
        from scenedetect import detect
        from scenedetect.detectors import AdaptiveDetector

        t0 = time.perf_counter()
        for item in items:
            detect(item["path"], AdaptiveDetector())
        return time.perf_counter() - t0
    cfg = load_config(CurateConfig, config, overrides={"detector": contender})
    import scenedetect.detectors  # noqa: F401  (imports outside the timing, as for PySceneDetect)

    if contender == "transnetv2":
        from tempoforge.curate.shots import _transnet_model, transnet_device

        _transnet_model(transnet_device(cfg.transnet_device))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        curate(videos, tmp, cfg, progress=False)
        return time.perf_counter() - t0


def bench(videos: Path, config: Path, detectors: list[str], repeat: int) -> None:
    """Time the preset with each detector and PySceneDetect alone, each run in a fresh process, interleaved
    (one round each per repeat, so a drifting machine load hits all contenders alike); best round reported."""
    n = len(list_inputs(videos))
    contenders = {f"preset, {d}": d for d in detectors}
    contenders["PySceneDetect alone"] = "pyscenedetect"

    def run(contender: str) -> float:
        cmd = [sys.executable, __file__, "--videos", str(videos), "--config", str(config), "--time-one", contender]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return float(json.loads(out.strip().splitlines()[-1])["seconds"])

    for contender in contenders.values():
        run(contender)  # warm-up: page cache, compiled caches
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeat):
        for name, contender in contenders.items():
            best[name] = min(best[name], run(contender))
    steps = load_config(CurateConfig, config).steps
    print(f"videos: {n} in {videos}; steps={steps}; best of {repeat} interleaved rounds, each in a fresh process")
    t_sd = best["PySceneDetect alone"]
    for name, t in best.items():
        ratio = "" if name == "PySceneDetect alone" else f"  {t / t_sd:5.2f}x PySceneDetect's time"
        print(f"  {name:<32} {t:7.2f} s  {60 * n / t:8.1f} videos/min{ratio}")


def agreement(videos: Path, tolerance: float) -> None:
    dets = ["adaptive", "content", "transnetv2"]
    cfg = CurateConfig(steps=["probe", "signals", "shots"], detector="adaptive", also_detect=dets[1:])  # type: ignore[arg-type]
    totals = {pair: [0, 0, 0] for pair in itertools.combinations(dets, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        for item in list_inputs(videos):
            rec = process_video(item, cfg, Path(tmp))["record"]
            if rec["status"] != "kept":
                print(f"{item['id']}: {rec.get('reason')}")
                continue
            print(f"{item['id']}:")
            for d in dets:
                print(f"  {d:11s} {rec['cuts'][d]}")
            for a, b in totals:
                tp, fp, fn = match_cuts(rec["cuts"][a], rec["cuts"][b], tolerance)
                totals[(a, b)] = [x + y for x, y in zip(totals[(a, b)], (tp, fp, fn))]
    for (a, b), (tp, fp, fn) in totals.items():
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        print(f"agreement {a} vs {b}: matched {tp}, only {a} {fp}, only {b} {fn}, F1 {f1:.3f}")


def accuracy(world_dir: Path) -> None:
    """Shot-boundary accuracy of each detector on a TempoWorld folder (exact ground truth): hard cuts within
    one frame (detections inside a dissolve or fade are neither hits nor false alarms), and gradual
    transitions counted as found when a detection falls inside them (one frame of slack)."""
    from tempoforge.world.generate import load_world

    world = load_world(world_dir)
    dets = ["adaptive", "content", "transnetv2"]
    cfg = CurateConfig(steps=["probe", "signals", "shots"], detector="adaptive", also_detect=dets[1:])  # type: ignore[arg-type]
    hard = {d: [0, 0, 0] for d in dets}
    soft = {d: [0, 0] for d in dets}
    with tempfile.TemporaryDirectory() as tmp:
        for script in world.scripts:
            rec = process_video({"id": script.id, "path": str(world.video_path(script.id))}, cfg, Path(tmp))["record"]
            tol = 1.0 / script.fps + 1e-6
            cuts = [t.start for t in script.transitions if t.kind == "cut"]
            gradual = [(t.start, t.end) for t in script.transitions if t.kind != "cut"]
            for d in dets:
                found = rec["cuts"][d]
                pred = [c for c in found if not any(a - tol <= c <= b + tol for a, b in gradual)]
                hard[d] = [x + y for x, y in zip(hard[d], match_cuts(pred, cuts, tol), strict=True)]
                hit = sum(any(a - tol <= c <= b + tol for c in found) for a, b in gradual)
                soft[d] = [soft[d][0] + hit, soft[d][1] + len(gradual)]
    print(f"accuracy on {len(world.scripts)} TempoWorld videos in {world_dir}:")
    for d in dets:
        tp, fp, fn = hard[d]
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        print(f"  {d:<11} hard cuts: F1 {f1:.3f} (matched {tp}, false {fp}, missed {fn}); "
              f"gradual transitions found: {soft[d][0]}/{soft[d][1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, default=Path("../shared/datasets/videos"), help="folder of videos")
    parser.add_argument("--config", type=Path, default=Path("configs/curate/temple.yaml"), help="preset YAML")
    parser.add_argument("--detector", action="append", default=None,
                        help="shot detector to time the preset with (repeatable; default: the preset's own and "
                             "'adaptive')")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (best is reported)")
    parser.add_argument("--agreement", action="store_true", help="also report detector agreement")
    parser.add_argument("--tolerance", type=float, default=0.1, help="agreement tolerance in seconds")
    parser.add_argument("--time-one", default=None, help=argparse.SUPPRESS)  # internal: one timed run
    parser.add_argument("--accuracy", type=Path, default=None, metavar="WORLD_DIR",
                        help="also score each detector against a TempoWorld folder's exact shot boundaries")
    args = parser.parse_args()
    if args.time_one:
        print(json.dumps({"seconds": time_one(args.videos, args.config, args.time_one)}))
        return
    preset_detector = load_config(CurateConfig, args.config).detector
    detectors = list(dict.fromkeys(args.detector or [preset_detector, "adaptive"]))
    bench(args.videos, args.config, detectors, args.repeat)
    if args.agreement:
        agreement(args.videos, args.tolerance)
    if args.accuracy is not None:
        accuracy(args.accuracy)


if __name__ == "__main__":
    main()

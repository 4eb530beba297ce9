"""Curation speed: videos per minute of a preset vs PySceneDetect's AdaptiveDetector alone, in one run.

    .venv/bin/python benchmarks/curate.py --videos ../shared/datasets/videos \
        --config configs/curate/temple.yaml [--detector adaptive ...] [--repeat 3]

The preset runs sequentially (one worker) in a fresh output folder each repeat (no cache hits), once per
``--detector`` (default: the preset's own detector, and ``adaptive``); PySceneDetect runs
``scenedetect.detect(path, AdaptiveDetector())``, which opens and decodes the file itself (its default
auto-downscale). All see the same videos on the same machine in the same process, in interleaved rounds;
the best of ``--repeat`` rounds is reported. ``--agreement`` also prints, per video, the cuts of each detector
(adaptive, content, transnetv2) and their pairwise agreement (F1 within ``--tolerance`` seconds);
``--accuracy WORLD_DIR`` scores each detector against a TempoWorld folder's exact shot boundaries.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tempoforge.config import load_config
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.pipeline import curate, list_inputs, process_video
from tempoforge.curate.shots import match_cuts
from tempoforge.io import clear_caches


def bench(videos: Path, configs: dict[str, CurateConfig], repeat: int) -> None:
    """Time each preset variant and PySceneDetect alone, interleaved (one round each per repeat, so a
    drifting machine load hits all contenders alike); the best round of each is reported."""
    from scenedetect import detect
    from scenedetect.detectors import AdaptiveDetector

    items = list_inputs(videos)
    n = len(items)

    def preset(cfg: CurateConfig) -> Callable[[], None]:
        def run() -> None:
            clear_caches()  # every round pays for probing and indexing, as a first run over new videos does
            with tempfile.TemporaryDirectory() as tmp:
                curate(videos, tmp, cfg, progress=False)
        return run

    def scenedetect_alone() -> None:
        for item in items:
            detect(item["path"], AdaptiveDetector())

    contenders: dict[str, Callable[[], None]] = {f"preset, {name}": preset(cfg) for name, cfg in configs.items()}
    contenders["PySceneDetect alone"] = scenedetect_alone
    for run in contenders.values():
        run()  # warm-up: imports, model loads, page cache
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeat):
        for name, run in contenders.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    first = next(iter(configs.values()))
    print(f"videos: {n} in {videos}; steps={first.steps}; best of {repeat} interleaved rounds")
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
    parser.add_argument("--accuracy", type=Path, default=None, metavar="WORLD_DIR",
                        help="also score each detector against a TempoWorld folder's exact shot boundaries")
    args = parser.parse_args()
    preset_detector = load_config(CurateConfig, args.config).detector
    detectors = list(dict.fromkeys(args.detector or [preset_detector, "adaptive"]))
    configs = {d: load_config(CurateConfig, args.config, overrides={"detector": d}) for d in detectors}
    bench(args.videos, configs, args.repeat)
    if args.agreement:
        agreement(args.videos, args.tolerance)
    if args.accuracy is not None:
        accuracy(args.accuracy)


if __name__ == "__main__":
    main()

"""Curation speed: videos per minute of a preset vs PySceneDetect's AdaptiveDetector alone, in one run.

    .venv/bin/python benchmarks/curate.py --videos ../shared/datasets/videos \
        --config configs/curate/temple.yaml [--detector adaptive] [--repeat 2]

The preset runs sequentially (one worker) in a fresh output folder each repeat (no cache hits);
PySceneDetect runs ``scenedetect.detect(path, AdaptiveDetector())``, which opens and decodes the file itself
(its default auto-downscale). Both see the same videos on the same machine in the same process; the best
of ``--repeat`` wall times is reported. ``--agreement`` also prints, per video, the cuts of each detector
(adaptive, content, transnetv2) and their pairwise agreement (F1 within ``--tolerance`` seconds).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from tempoforge.config import load_config
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.pipeline import curate, list_inputs, process_video
from tempoforge.curate.shots import match_cuts


def _best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(videos: Path, cfg: CurateConfig, repeat: int) -> None:
    from scenedetect import detect
    from scenedetect.detectors import AdaptiveDetector

    items = list_inputs(videos)
    n = len(items)

    def run_preset() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            curate(videos, tmp, cfg, progress=False)

    def run_scenedetect() -> None:
        for item in items:
            detect(item["path"], AdaptiveDetector())

    run_preset()  # warm-up: imports, model load
    t_preset = _best(run_preset, repeat)
    t_sd = _best(run_scenedetect, repeat)
    print(f"videos: {n} in {videos}")
    print(f"preset steps={cfg.steps} detector={cfg.detector}")
    print(f"  preset:              {t_preset:7.2f} s  {60 * n / t_preset:8.1f} videos/min")
    print(f"  PySceneDetect alone: {t_sd:7.2f} s  {60 * n / t_sd:8.1f} videos/min")
    print(f"  ratio preset/PySceneDetect time: {t_preset / t_sd:.2f}x")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, default=Path("../shared/datasets/videos"), help="folder of videos")
    parser.add_argument("--config", type=Path, default=Path("configs/curate/temple.yaml"), help="preset YAML")
    parser.add_argument("--detector", default=None, help="override the preset's shot detector")
    parser.add_argument("--repeat", type=int, default=2, help="timed repeats (best is reported)")
    parser.add_argument("--agreement", action="store_true", help="also report detector agreement")
    parser.add_argument("--tolerance", type=float, default=0.1, help="agreement tolerance in seconds")
    args = parser.parse_args()
    overrides = {"detector": args.detector} if args.detector else None
    cfg = load_config(CurateConfig, args.config, overrides=overrides)
    bench(args.videos, cfg, args.repeat)
    if args.agreement:
        agreement(args.videos, args.tolerance)


if __name__ == "__main__":
    main()

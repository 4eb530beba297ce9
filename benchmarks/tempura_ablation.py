"""TEMPURA stage ablation on TempoWorld tiny (issue 8 "Measure"): S1 -> S2 vs S2 only vs S2 -> S1 vs untrained.

    .venv/bin/python benchmarks/tempura_ablation.py --out runs/bench_tempura --videos 72 --heldout 12 \
        --s1-steps 200 --s2-steps 300 --seed 0

1. ``generate_world`` (tiny preset, ``--seed``); the last ``--heldout`` videos are held out;
2. ``synth tempura`` with the oracle teacher on all videos; training uses the non-held-out samples only;
3. trains a tiny random-initialised Qwen2.5-VL (same init seed) per order, frames at 1 fps as separate images
   with the visual timestamp overlay, full fine-tune; S2 gets the same steps in every order;
4. on the held-out videos: dense captioning (densevid P/R/F1 averaged over tIoU 0.3/0.5/0.7/0.9 and SODA_c
   with METEOR) from the stage-2 prompt, and single-moment grounding (R@1 at IoU 0.3/0.5/0.7, mIoU; strict
   convention) from the grounding prompt, which no order trains on (TEMPURA's claim is transfer).

Writes ``OUT/results.json`` and prints one table. Not part of the test suite (minutes on CPU).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def _dense_scores(preds: dict[str, list[tuple[float, float, str]]], refs: dict[str, list[tuple[float, float, str]]],
                  ) -> dict[str, Any]:
    from tempoforge.eval.metrics.densevid import densevid_detection
    from tempoforge.eval.metrics.soda import soda_c

    windows = {v: [[s, e] for s, e, _ in p] for v, p in preds.items()}
    ref_w = {v: [[s, e] for s, e, _ in r] for v, r in refs.items()}
    det = densevid_detection(windows, [ref_w])
    out: dict[str, Any] = {"P": det["Precision"]["average"] * 100, "R": det["Recall"]["average"] * 100,
                           "F1": det["F1"]["average"] * 100,
                           "events_per_video": sum(len(p) for p in preds.values()) / max(1, len(preds))}
    nonempty = {v: [((s, e), c) for s, e, c in p] for v, p in preds.items() if p}
    if nonempty:
        soda = soda_c(nonempty, [{v: [((s, e), c) for s, e, c in r] for v, r in refs.items()}])
        # SODA_c skips videos without predictions; count them as 0 (a fair average over all held-out videos)
        out["SODA_c"] = soda["f1"] * soda["num_videos"] / len(refs)
    else:
        out["SODA_c"] = 0.0
    return out


def evaluate(lm: Any, world: Path, heldout: list[str], work: Path, max_frames: int) -> dict[str, Any]:
    from tempoforge.eval.metrics.grounding import score_grounding
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.models.config import PredictConfig
    from tempoforge.models.predict import predict
    from tempoforge.records import DenseCaptionSample, GroundingSample, Prediction
    from tempoforge.synth.tempura_samples import parse_dense_answer

    work.mkdir(parents=True, exist_ok=True)
    ann = world / "annotations"
    dense = [s for s in read_jsonl(ann / "dense.jsonl", DenseCaptionSample) if s.id in heldout]
    ground = [s for s in read_jsonl(ann / "grounding.jsonl", GroundingSample) if s.video.split("/")[-1][:-4] in heldout]
    for s in ground:
        s.video = str((ann / s.video).resolve())
    for d in dense:
        d.video = str((ann / d.video).resolve())
    write_jsonl(work / "dense_gt.jsonl", dense)
    write_jsonl(work / "ground_gt.jsonl", ground)
    common = dict(fps=1.0, max_frames=max_frames, timestamps="overlay", batch_size=4)
    predict(PredictConfig(benchmark="dense-captioning", data=work / "dense_gt.jsonl", out=work / "dense_pred.jsonl",
                          max_new_tokens=160, **common), lm=lm, quiet=True)  # type: ignore[arg-type]
    predict(PredictConfig(benchmark="grounding", data=work / "ground_gt.jsonl", out=work / "ground_pred.jsonl",
                          max_new_tokens=24, **common), lm=lm, quiet=True)  # type: ignore[arg-type]
    preds = {p.id: parse_dense_answer(p.answer) for p in read_jsonl(work / "dense_pred.jsonl", Prediction)}
    refs = {d.id: [(e.span.start, e.span.end, e.caption) for e in d.events] for d in dense}
    res = {"dense": _dense_scores(preds, refs)}
    g = score_grounding(list(read_jsonl(work / "ground_pred.jsonl", Prediction)), "strict")
    res["grounding"] = {k: v for k, v in g.items() if isinstance(v, (int, float))}
    first = next(iter(read_jsonl(work / "dense_pred.jsonl", Prediction)))
    res["example_dense_answer"] = first.answer[:300]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_tempura"))
    ap.add_argument("--videos", type=int, default=72)
    ap.add_argument("--heldout", type=int, default=12)
    ap.add_argument("--s1-steps", type=int, default=200)
    ap.add_argument("--s2-steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--max-frames", type=int, default=16)
    ap.add_argument("--orders", nargs="+", default=["s1-s2", "s2-only", "s2-s1"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import transformers

    from tempoforge.models.tiny import build_tiny
    from tempoforge.models.video import VideoSettings
    from tempoforge.synth.ver import TempuraSynthConfig, run_ver
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.recipes.tempura import TempuraConfig, run_tempura
    from tempoforge.train.sft import SFTSettings
    from tempoforge.world import generate_world, preset_config

    transformers.logging.set_verbosity_error()
    out = args.out
    world = out / "world"
    w = generate_world(world, videos=args.videos, seed=args.seed, config=preset_config("tiny"), progress=False)
    heldout = [s.id for s in w.scripts[-args.heldout:]]
    stats = run_ver(TempuraSynthConfig(input=world, out=out / "ver"), progress=False)
    train = out / "train_samples.jsonl"
    rows = [json.loads(x) for x in (out / "ver" / "samples.jsonl").read_text().splitlines()]
    train.write_text("".join(json.dumps(r) + "\n" for r in rows if r["id"].split("/")[0] not in heldout))
    n_train = {t: sum(1 for r in rows if r["task"] == t and r["id"].split("/")[0] not in heldout) for t in ("masked", "dense")}

    def stage(steps: int) -> SFTSettings:
        return SFTSettings(optim=OptimSettings(learning_rate=args.lr, max_steps=steps, batch_size=args.batch,
                                               warmup_ratio=0.03, weight_decay=0.1, seed=args.seed),
                           lora=LoraSettings(enabled=False, train_vision=True),
                           video=VideoSettings(fps=1.0, max_frames=args.max_frames, timestamps="overlay"),
                           vision_learning_rate=args.lr)

    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "synth": stats,
                               "train_samples": n_train, "heldout": heldout, "runs": {}}
    t0 = time.time()
    results["runs"]["untrained"] = evaluate(build_tiny("qwen2_5_vl", seed=args.seed), world, heldout,
                                            out / "eval_untrained", args.max_frames)
    for order in args.orders:
        t = time.time()
        cfg = TempuraConfig(data=str(train), out=str(out / order), order=order, seed=args.seed,
                            masked=stage(args.s1_steps), dense=stage(args.s2_steps))
        res = run_tempura(cfg, lm=build_tiny("qwen2_5_vl", seed=args.seed))
        ev = evaluate(res["lm"], world, heldout, out / f"eval_{order}", args.max_frames)
        ev["curves"] = {k: {"first3": sum(v["loss"][:3]) / 3, "last3": sum(v["loss"][-3:]) / 3}
                        for k, v in res["curves"].items() if v.get("loss")}
        ev["seconds"] = round(time.time() - t, 1)
        results["runs"][order] = ev
        (out / "results.json").write_text(json.dumps(results, indent=2))
    results["seconds"] = round(time.time() - t0, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"{'run':10s} {'F1':>6s} {'SODA_c':>7s} {'ev/vid':>6s} {'R@0.3':>6s} {'R@0.5':>6s} {'R@0.7':>6s} {'mIoU':>6s}")
    for name, r in results["runs"].items():
        d, g = r["dense"], r["grounding"]
        print(f"{name:10s} {d['F1']:6.2f} {d['SODA_c']:7.2f} {d['events_per_video']:6.2f} "
              + " ".join(f"{g.get(k, float('nan')):6.2f}" for k in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")))


if __name__ == "__main__":
    main()

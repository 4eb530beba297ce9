"""D2VLM at CPU scale on TempoWorld (issue 9, "Measure"): SFT, FPO and the paper's two ablations.

    .venv/bin/python benchmarks/d2vlm.py --out runs/bench_d2vlm [--sft-steps 400 --fpo-steps 60]

Generates a training world (seed 0) and a held-out world (seed 1), synthesizes the factorized pairs,
then trains from scratch with the tiny preset (``configs/train/d2vlm_tiny.yaml``) overridden by the flags:

- ``full``: SFT (CE + L_gnd + L_cons, visual-semantics injection) then FPO, scored after each stage;
- ``no-cons``: SFT with ``cons_weight: 0``;  ``no-inject``: SFT with ``inject: false``;
- ``whole-video``: a reference without a model (every answer / evidence span = the whole video).

Scores on the held-out world: E.T. Bench TVG (F1, R@1 at IoU 0.5 / 0.7 = F1@0.5 / F1@0.7, mIoU) on the
single-span grounding queries, E.T. Bench DVC F1 on the dense captions, and the evidence-part F1 of both.
Writes ``OUT/results.json`` and prints a table. Not part of the test suite (minutes of CPU).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _row(name: str, stage: str, m: dict[str, Any], seconds: float) -> dict[str, Any]:
    g, d = m.get("grounding", {}), m.get("dense", {})
    et_g, et_d = g.get("etbench", {}), d.get("etbench", {})
    return {"variant": name, "stage": stage, "TVG F1": et_g.get("F1"), "R1@0.5": et_g.get("F1@0.5"),
            "R1@0.7": et_g.get("F1@0.7"), "mIoU": et_g.get("mIoU"), "TVG failed": et_g.get("Failed"),
            "DVC F1": et_d.get("F1"), "DVC failed": et_d.get("Failed"),
            "evi F1 (gnd)": g.get("evidence", {}).get("F1"), "evi F1 (dense)": d.get("evidence", {}).get("F1"),
            "run s": round(seconds, 1)}


def _whole_video(eval_dir: Path) -> dict[str, Any]:
    from tempoforge.eval.metrics.evidence import score_evidence_predictions
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import DenseCaptionSample, GroundingSample, Prediction

    ann = eval_dir / "annotations"
    gs = [s for s in read_jsonl(ann / "grounding.jsonl", GroundingSample) if s.relevant and len(s.spans) == 1]
    ds = list(read_jsonl(ann / "dense.jsonl", DenseCaptionSample))
    g = [Prediction(id=s.id, benchmark="tempoworld", answer=f"0.0 - {s.duration:.1f} {s.query}.", video=s.video,
                    gt=[list(x.as_pair()) for x in s.spans], meta={"evidence_spans": [[0.0, s.duration]]})
         for s in gs]
    d = [Prediction(id=s.id, benchmark="dense-captioning", answer=f"0.0 - {s.duration:.1f} something happens.",
                    video=s.video, gt=[list(e.span.as_pair()) for e in s.events],
                    meta={"evidence_spans": [[0.0, s.duration]], "gt_captions": [e.caption for e in s.events]})
         for s in ds]
    return score_evidence_predictions(g, d)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_d2vlm", help="output folder")
    p.add_argument("--train-videos", type=int, default=24, help="training world size")
    p.add_argument("--eval-videos", type=int, default=8, help="held-out world size")
    p.add_argument("--sft-steps", type=int, default=400, help="SFT optimizer steps")
    p.add_argument("--fpo-steps", type=int, default=60, help="FPO optimizer steps")
    p.add_argument("--batch-size", type=int, default=4, help="SFT batch size (FPO: half, in pairs)")
    p.add_argument("--fps", type=float, default=1.0, help="frames per second sampled")
    p.add_argument("--max-frames", type=int, default=16, help="frame cap")
    p.add_argument("--variants", default="full,no-cons,no-inject", help="comma-separated variants")
    a = p.parse_args()

    from tempoforge.config import load_config
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.fpo import FPOSynthConfig, fpo_pairs
    from tempoforge.train.recipes.d2vlm import D2VLMConfig, run_d2vlm
    from tempoforge.world import generate_world, preset_config

    out = Path(a.out)
    train_w, eval_w = out / "tw_train", out / "tw_eval"
    generate_world(train_w, videos=a.train_videos, seed=0, config=preset_config("tiny"))
    generate_world(eval_w, videos=a.eval_videos, seed=1, config=preset_config("tiny"))
    ann = train_w / "annotations"
    pairs = [x for s in read_jsonl(ann / "dense.jsonl", DenseCaptionSample)
             for x in fpo_pairs(s, FPOSynthConfig(), str((ann / s.video).resolve()))]
    write_jsonl(out / "pairs.jsonl", pairs)
    rows = []
    results: dict[str, Any] = {"args": vars(a), "pairs": len(pairs), "runs": {}}
    base = _whole_video(eval_w)
    results["runs"]["whole-video"] = base
    rows.append(_row("whole-video", "-", base, 0.0))
    for variant in a.variants.split(","):
        cfg = load_config(D2VLMConfig, REPO / "configs" / "train" / "d2vlm_tiny.yaml", overrides={
            "stage": "both" if variant == "full" else "sft",
            "dense": str(ann / "dense.jsonl"), "grounding": str(ann / "grounding.jsonl"),
            "pairs": str(out / "pairs.jsonl"), "eval_dense": str(eval_w / "annotations" / "dense.jsonl"),
            "eval_grounding": str(eval_w / "annotations" / "grounding.jsonl"), "out": str(out / variant)})
        if variant == "no-cons":
            cfg.evidence.cons_weight = 0.0
        elif variant == "no-inject":
            cfg.evidence.inject = False
        elif variant != "full":
            raise SystemExit(f"unknown variant {variant!r}")
        for st, steps, bs in ((cfg.sft, a.sft_steps, a.batch_size), (cfg.fpo, a.fpo_steps, max(1, a.batch_size // 2))):
            st.optim.max_steps, st.optim.batch_size = steps, bs
            st.video.fps, st.video.max_frames = a.fps, a.max_frames
        t0 = time.time()
        res = run_d2vlm(cfg)
        dt = time.time() - t0
        results["runs"][variant] = {"metrics": res["metrics"], "curves": res["curves"], "seconds": dt}
        for stage, m in res["metrics"].items():
            rows.append(_row(variant, stage, m, dt))
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    keys = list(rows[0])
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join("-" if r[k] is None else (f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]))
                         for k in keys))
    results["table"] = rows
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()

"""D2VLM grounding-head sanity at CPU scale (not a test: ~2-3 minutes of CPU).

    .venv/bin/python benchmarks/d2vlm_squares.py --steps 80 [--no-inject] [--out runs/d2vlm_squares]

A red square (random position) is visible over 1-2 of the 4 temporal groups of an 8 s clip at 1 fps.
Evidence SFT from scratch (tiny Qwen2.5-VL, full fine-tune, batch 8, lr 3e-3) on 24 random clips; then, on
12 new clips, the evidence-part ``<evi>``'s ``sigmoid(sim)`` -> best run (0.6 x max) -> span, and its IoU
with the truth (teacher-forced; the first ``<evi>``'s query is the state before it, so no ground-truth
feature reaches it). Prints held-out mIoU and R@0.7 before and after training.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from tempoforge.eval.metrics.iou import iou_union
from tempoforge.io import write_video
from tempoforge.models.evidence import EvidenceModel, EvidenceSettings, best_run, build_evidence_example
from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings, load_frames
from tempoforge.records import Span
from tempoforge.synth.factorized import EvidenceEvent, render_response
from tempoforge.train.base import OptimSettings
from tempoforge.train.fpo import EvidenceItem, EvidenceTrainSettings, run_evidence_sft
from tempoforge.train.lora import LoraSettings

PROMPT = "When is the red square visible?"


def clip(root: Path, i: int, rng: np.random.Generator) -> tuple[str, Span]:
    a = int(rng.integers(0, 4))
    b = min(3, a + int(rng.integers(0, 2)))
    s, e = 2.0 * a, 2.0 * b + 2
    x, y = rng.integers(0, 26, 2)
    frames = []
    for t in range(8):
        img = np.zeros((56, 56, 3), np.uint8)
        if s <= t < e:
            img[y:y + 30, x:x + 30] = (255, 0, 0)
        frames.append(img)
    return str(write_video(root / f"c{i}.mp4", frames, 1)), Span.of(s, e)


def response(span: Span) -> str:
    return render_response([EvidenceEvent(span, "the red square is visible")], "d2vlm")


def heldout(elm: EvidenceModel, test: list[tuple[str, Span]], video: VideoSettings) -> tuple[float, float]:
    ious = []
    with torch.no_grad():
        for v, sp in test:
            x = build_evidence_example(elm, PROMPT, load_frames(v, video), "mrope", response(sp), [sp])
            f = elm.forward_groups([[x]], pad_token_id=elm.lm.token_ids["pad"])
            a, b = best_run(torch.sigmoid(f.sims[0][0]))
            ious.append(float(iou_union([x.bounds[a, 0], x.bounds[b, 1]], [sp.start, sp.end])))
    return float(np.mean(ious)), float(np.mean([i >= 0.7 for i in ious]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=80, help="SFT steps")
    p.add_argument("--no-inject", action="store_true", help="ablation: no visual-semantics injection")
    p.add_argument("--out", default="runs/d2vlm_squares", help="output folder")
    a = p.parse_args()
    out = Path(a.out)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    train = [clip(out / "clips", i, rng) for i in range(24)]
    test = [clip(out / "clips", 100 + i, rng) for i in range(12)]
    elm = EvidenceModel(build_tiny("qwen2_5_vl"), EvidenceSettings(inject_layer=1, inject=not a.no_inject))
    video = VideoSettings(fps=1, max_frames=8)
    st = EvidenceTrainSettings(optim=OptimSettings(learning_rate=3e-3, max_steps=a.steps, batch_size=8,
                                                   warmup_ratio=0.05),
                               lora=LoraSettings(enabled=False, train_vision=True), video=video)
    print("init held-out (mIoU, R@0.7):", heldout(elm, test, video))
    t0 = time.time()
    items = [EvidenceItem(f"i{k}", v, PROMPT, response(sp), (sp,)) for k, (v, sp) in enumerate(train)]
    res = run_evidence_sft(elm, items, st, out / f"sft_inject{int(not a.no_inject)}")
    g = res.history["gnd"]
    print(f"steps {a.steps} inject {not a.no_inject}: {time.time() - t0:.0f} s; L_gnd first3 {np.mean(g[:3]):.3f} "
          f"last3 {np.mean(g[-3:]):.3f}; CE last3 {np.mean(res.history['ce'][-3:]):.3f}")
    print("trained held-out (mIoU, R@0.7):", heldout(elm, test, video))


if __name__ == "__main__":
    main()

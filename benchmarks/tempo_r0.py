"""Tempo-R0 efficacy on TempoWorld tiny (issue 10, "Measure"): cold-start SFT, then PIR-GRPO, on CPU.

    .venv/bin/python benchmarks/tempo_r0.py --out runs/bench_tempo_r0 [--train-videos 40 --test-videos 12
        --sft-steps 300 --grpo-steps 40 --seed 0 --conditions base,pir,nopir,saa,text,overlay]

Protocol (every number comes from this script; nothing is tuned on the test videos):

1. Two TempoWorld tiny worlds with different seeds: ``train`` and held-out ``test`` videos.
2. Cold start (SFT, ``train/sft.py``): a tiny random Qwen2.5-VL learns the answer format on the train
   grounding queries plus 10% refusal queries built by ``synth/irrelevant.py``; target
   ``<think>...</think><answer>From s to e seconds.</answer>`` (first GT span) or the refusal sentence. A
   random model never writes the format by chance, so GRPO needs this start (as R1-style recipes do).
3. GRPO (``train/grpo.py``) from the SFT weights, rewards format + refusal-aware IoU, with or without the
   10% irrelevant pairs.
4. Greedy predictions on the test videos: their relevant grounding queries and TempoWorld's own refusal
   queries (exact by construction: 1 irrelevant + 2 partial per video), scored with the ``strict``
   convention (R1@0.3/0.5/0.7 and mIoU on relevant queries, refusal accuracy on irrelevant ones).

Conditions (input = frame selection + timestamps; SFT is shared by the conditions with the same input):
``base`` (uniform frames + ETA text timestamps, after SFT only), ``pir`` / ``nopir`` (the same, then GRPO with /
without the irrelevant pairs), ``saa-base`` / ``saa`` (SAA frames at the same budget + ETA, after SFT / after
PIR-GRPO); optional ``mrope`` and ``overlay`` (uniform frames, M-RoPE time / burned-in timestamps, PIR-GRPO).
Results go to ``OUT/results.json`` and a table on stdout. The machine's threads: ``--threads``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from tempoforge.eval.metrics.grounding import score_grounding
from tempoforge.eval.parsing import parse_spans
from tempoforge.io.jsonl import read_jsonl
from tempoforge.models.inputs import build_example, collate
from tempoforge.models.video import VideoSettings, load_frames, resolve_video
from tempoforge.records import GroundingSample, Prediction
from tempoforge.synth.irrelevant import mix_irrelevant
from tempoforge.train.base import OptimSettings
from tempoforge.train.data import SFTItem
from tempoforge.train.grpo import GRPOSettings, run_grpo
from tempoforge.train.lora import LoraSettings
from tempoforge.train.recipes.tempo_r0 import REFUSAL_ANSWER, grpo_items, tempo_r0_prompt
from tempoforge.train.rewards import format_reward
from tempoforge.train.sft import SFTSettings, run_sft

INPUTS = {"uniform-mrope": ("uniform", "mrope"), "saa-text": ("saa", "text"), "uniform-text": ("uniform", "text"),
          "uniform-overlay": ("uniform", "overlay")}
CONDITIONS = {  # name -> (input, GRPO irrelevant ratio or None for SFT only)
    "base": ("uniform-text", None), "nopir": ("uniform-text", 0.0), "pir": ("uniform-text", 0.1),
    "saa-base": ("saa-text", None), "saa": ("saa-text", 0.1),
    "mrope": ("uniform-mrope", 0.1), "overlay": ("uniform-overlay", 0.1),
}
DEFAULT_CONDITIONS = "base,nopir,pir,saa-base,saa"


def worlds(out: Path, n_train: int, n_test: int, seed: int) -> tuple[Path, Path]:
    from tempoforge.world import generate_world, preset_config

    for name, n, s in (("train", n_train, seed), ("test", n_test, seed + 1000)):
        if not (out / name / "world.json").exists():
            generate_world(out / name, videos=n, seed=s, config=preset_config("tiny"), progress=False)
    return out / "train", out / "test"


def samples(world: Path, kind: str) -> list[GroundingSample]:
    return list(read_jsonl(world / "annotations" / f"{kind}.jsonl", GroundingSample))


def target(s: GroundingSample) -> str:
    if not s.relevant:
        return f"<think>search</think><answer>{REFUSAL_ANSWER}</answer>"
    a, b = s.spans[0].as_pair()
    return f"<think>search</think><answer>From {a:.1f} to {b:.1f} seconds.</answer>"


def video_settings(inp: str, max_frames: int) -> VideoSettings:
    sel, strat = INPUTS[inp]
    return VideoSettings(fps=1.0, max_frames=max_frames, timestamps=strat, selection=sel)


@torch.no_grad()
def evaluate(lm: Any, test: list[GroundingSample], base: Path, video: VideoSettings, batch: int = 16) -> dict[str, Any]:
    ids = lm.token_ids
    model = lm.model.eval()
    preds = []
    for i in range(0, len(test), batch):
        chunk = test[i:i + batch]
        exs = [build_example(lm, tempo_r0_prompt(s.query, s.duration), load_frames(resolve_video(s.video, base), video),
                             video.timestamps) for s in chunk]
        b = collate(exs, pad_token_id=ids["pad"], padding_side="left")
        out = model.generate(**b, do_sample=False, max_new_tokens=40, pad_token_id=ids["pad"],
                             eos_token_id=[ids["eos"], ids["pad"]])
        texts = lm.tokenizer.batch_decode(out[:, b["input_ids"].shape[1]:], skip_special_tokens=True)
        for s, t in zip(chunk, texts, strict=True):
            preds.append(Prediction(id=s.id, benchmark="tempoworld", answer=t.strip(), duration=s.duration,
                                    gt=[list(sp.as_pair()) for sp in s.spans], query=s.query))
    scores = score_grounding(preds, "strict")
    scores["format_rate"] = sum(format_reward([p.answer for p in preds])) / len(preds)
    # the strict scorer counts an EMPTY answer as a refusal; also report explicit refusals only (the reward's rule)
    status = [(bool(p.gt), parse_spans(p.answer).status) for p in preds]
    n_irr = sum(not rel for rel, _ in status)
    n_rel = len(status) - n_irr
    scores["explicit_refusal_accuracy"] = sum(st == "refusal" for rel, st in status if not rel) / max(1, n_irr)
    scores["false_refusal_rate"] = sum(st == "refusal" for rel, st in status if rel) / max(1, n_rel)
    scores["example_answers"] = [p.answer for p in preds[:2]]
    model.train()
    return scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_tempo_r0"))
    ap.add_argument("--train-videos", type=int, default=40)
    ap.add_argument("--test-videos", type=int, default=12)
    ap.add_argument("--sft-steps", type=int, default=300)
    ap.add_argument("--grpo-steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-frames", type=int, default=8, help="frame budget per video (uniform and SAA alike)")
    ap.add_argument("--sft-batch", type=int, default=8)
    ap.add_argument("--conditions", default=DEFAULT_CONDITIONS, help=f"comma list of {', '.join(CONDITIONS)}")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args()
    from tempoforge.models.tiny import build_tiny

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train_w, test_w = worlds(args.out, args.train_videos, args.test_videos, args.seed)
    train_rel = [s for s in samples(train_w, "grounding") if s.relevant and s.spans]
    sft_mix, _ = mix_irrelevant(train_rel, 0.1, 0.5, args.seed)
    test = samples(test_w, "grounding") + samples(test_w, "refusal")
    base_train, base_test = train_w / "annotations", test_w / "annotations"
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()},
                               "train_queries": len(train_rel), "test_relevant": sum(s.relevant for s in test),
                               "test_irrelevant": sum(not s.relevant for s in test), "conditions": {}}
    sft_models: dict[str, Any] = {}
    for name in args.conditions.split(","):
        inp, ratio = CONDITIONS[name]
        video = video_settings(inp, args.max_frames)
        t0 = time.time()
        if inp not in sft_models:
            lm = build_tiny("qwen2_5_vl", seed=args.seed)
            items = [SFTItem(s.id, resolve_video(s.video, base_train), tempo_r0_prompt(s.query, s.duration), target(s))
                     for s in sft_mix]
            sft = SFTSettings(optim=OptimSettings(learning_rate=3e-3, max_steps=args.sft_steps, batch_size=args.sft_batch,
                                                  warmup_ratio=0.05, seed=args.seed),
                              lora=LoraSettings(enabled=False, train_vision=True), video=video)
            res = run_sft(lm, items, sft, args.out / f"sft_{inp}")
            lm.model = res.model
            sft_models[inp] = {k: v.detach().clone() for k, v in lm.model.state_dict().items()}
            results.setdefault("sft_loss", {})[inp] = [res.losses[0], res.losses[-1]]
        lm = build_tiny("qwen2_5_vl", seed=args.seed)
        lm.model.load_state_dict(sft_models[inp])
        info: dict[str, Any] = {"input": inp, "irrelevant_ratio": ratio}
        if ratio is not None:
            train = mix_irrelevant(train_rel, ratio, 0.5, args.seed)[0] if ratio > 0 else train_rel
            settings = GRPOSettings(num_generations=8, max_new_tokens=36, beta=0.0, rewards=["format", "refusal"],
                                    optim=OptimSettings(learning_rate=5e-4, max_steps=args.grpo_steps, batch_size=2,
                                                        warmup_ratio=0.0, scheduler="constant", seed=args.seed),
                                    lora=LoraSettings(enabled=False), video=replace(video))
            g = run_grpo(lm, grpo_items(train, base_train), settings, args.out / f"grpo_{name}")
            lm.model = g.model
            k = max(1, len(g.rewards) // 4)
            info["reward_first_quarter"] = sum(g.rewards[:k]) / k
            info["reward_last_quarter"] = sum(g.rewards[-k:]) / k
            info["reward_parts_last_quarter"] = {n: sum(v[-k:]) / k for n, v in g.parts.items()}
        info["scores"] = evaluate(lm, test, base_test, video)
        info["seconds"] = round(time.time() - t0, 1)
        results["conditions"][name] = info
        print(name, json.dumps({k: v for k, v in info["scores"].items() if k != "example_answers"}), flush=True)
        (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"{'condition':10s} {'input':16s} {'R1@0.3':>7s} {'R1@0.5':>7s} {'R1@0.7':>7s} {'mIoU':>6s} {'refuse':>7s} "
          f"{'refuse!':>7s} {'falsref':>7s} {'format':>7s}")
    for name, info in results["conditions"].items():
        s = info["scores"]
        print(f"{name:10s} {info['input']:16s} {s['R1@0.3']:7.3f} {s['R1@0.5']:7.3f} {s['R1@0.7']:7.3f} "
              f"{s['mIoU']:6.3f} {s['refusal_accuracy']:7.3f} {s['explicit_refusal_accuracy']:7.3f} "
              f"{s['false_refusal_rate']:7.3f} {s['format_rate']:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

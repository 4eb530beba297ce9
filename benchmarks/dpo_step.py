"""DPO step benchmark: tempoforge's ``VideoDPOTrainer`` vs TRL 1.16's ``DPOTrainer`` on the same video pairs.

    .venv/bin/python benchmarks/dpo_step.py --out runs/bench_dpo_step --size small --pairs 36 --batch 4 \
        --steps 9 --warmup 2 --repeats 2 --threads 1

Issue 7 "Measure": time per optimizer step and peak memory of both trainers on the same model, LoRA, batch
and data, in one run, printed as a table with the ratio (target: ours <= 0.6x TRL's step time).

Data: a small TempoWorld (tiny preset, one object, 2-3 events; ``tiny``: 56x56, 8-12 s as in the demo;
``small``: 112x112, 12-16 s) and its TEMPLE pairs (oracle captions; reverse / shuffle / drop at r = 16, 8, 4, 2),
all "same-video" pairs (TEMPLE's setting), cached in ``OUT/SIZE/``.

Model: ``--size tiny`` is ``build_tiny("qwen2_5_vl")`` (text hidden 64, 2 layers; 56x56 frames = 4 merged
tokens per frame pair), so small that per-step Python overhead dominates. ``--size small`` (default) keeps
its tokenizer and vision preprocessing but widens the model (text hidden 256, 4 layers, 4 heads / 2 KV heads,
``mrope_section`` [8, 12, 12]; vision depth 4, hidden 128) and allows 112x112 frames (16 merged tokens per
frame pair) at 2 fps, 32 frames at most: ~250 video tokens per prompt against ~30-60 answer tokens, the
video-dominated regime TEMPLE trains in (a 7B model on 2 fps video has thousands of video tokens).

How TRL is made to train on video (the least-effort honest way; DESIGN.md platform facts): TRL's DPO
accepts only images and tokenises them itself, so the only TRL part replaced is the **data collator**
(``TRLVideoCollator``, passed as ``data_collator=``, which ``DPOTrainer`` supports). It emits TRL's own batch
layout (``[chosen_0..chosen_B-1, rejected_0..rejected_B-1]``, right-padded, ``completion_mask``) built from
the very ``build_example`` tensors our trainer uses (video pixels, ``video_grid_thw``,
``second_per_grid_ts``, actual-time M-RoPE ``position_ids``), so the prompt's video is repeated for chosen and
rejected exactly as TRL's vision collator repeats images. Everything else is stock TRL: its loss, its fused
LM head, and its reference (the LoRA adapter disabled, a second forward every step:
``precompute_ref_log_probs`` is refused for vision datasets). The dataset rows carry ``images: []`` so TRL
takes its vision-dataset path (no text tokenisation) and the processing class is
``tempoforge.models.processor.make_processor`` (TRL only reads its tokenizer's pad token). Like-for-like
settings: the same LoRA targets (``apply_lora``'s all-linear, LM only; trainable counts are checked equal),
rank, alpha, no dropout, AdamW, constant lr, no gradient checkpointing (TRL's default turns it on, "~20% slower" by
its own help text), fp32, the same data order (both ``Trainer`` samplers seeded alike; the per-step losses of
the two trainers track each other).

Checks printed with the table (and asserted): at step 0 (fresh LoRA, policy == reference) both trainers'
losses are ``log 2``; TRL's per-sequence log-probs of the first batch equal ``tempoforge.train.dpo.pair_logps``
(same inputs reach the same model); ``VisionProbe`` counts vision-tower calls during training (TRL: 2 per
step, policy + reference, each on 2B videos; ours: 1 per step on B videos, and none for the reference).

Timing: wall-clock between consecutive ``on_step_end`` callbacks (data collation, forward, backward and
optimizer included), after ``--warmup`` steps; the median over all post-warm-up steps of all repeats.
Each (trainer, repeat) runs in a fresh subprocess, alternating ours / TRL, so both see the same machine load.
Results: ``OUT/SIZE/results.json`` (every step time, loss curve and check) and the printed table.
Our trainer's one-off reference pass (before step 1) is reported separately and amortised over an epoch.
Memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (peak RSS) after training minus its value just before
the trainer is built (model, data and frames already in memory), in the fresh process; on CUDA also
``torch.cuda.max_memory_allocated``. (``tracemalloc`` cannot see torch's CPU allocator, so it is not used.)
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

LOG2 = math.log(2.0)
KINDS = ("reverse", "shuffle", "drop")


# ----------------------------------------------------------------------------------------------- model + data
def bench_model(size: str, seed: int = 0) -> Any:
    """The benchmark's ``LoadedModel``: ``build_tiny("qwen2_5_vl")``, widened for ``size="small"``."""
    from tempoforge.models.tiny import build_tiny

    lm = build_tiny("qwen2_5_vl", seed=seed)
    if size == "tiny":
        return lm
    if size != "small":
        raise ValueError(f"size must be tiny or small, got {size!r}")
    cfg = copy.deepcopy(lm.model.config)
    tc, vc = cfg.text_config, cfg.vision_config
    tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers = 256, 1024, 4
    tc.num_attention_heads, tc.num_key_value_heads = 4, 2
    tc.layer_types = [tc.layer_types[0]] * tc.num_hidden_layers
    tc.rope_parameters = {**tc.rope_parameters, "mrope_section": [8, 12, 12]}  # sums to head_dim / 2 = 32
    vc.hidden_size, vc.intermediate_size, vc.depth, vc.num_heads = 128, 256, 4, 4
    vc.out_hidden_size, vc.fullatt_block_indexes = 256, [1, 3]
    torch.manual_seed(seed)
    model = type(lm.model)(cfg).eval()
    model.generation_config = lm.model.generation_config
    lm.model = model
    lm.vision = dataclasses.replace(lm.vision, max_pixels=112 * 112, video_max_pixels=112 * 112)
    return lm


def video_settings(size: str) -> Any:
    from tempoforge.models.video import VideoSettings

    if size == "tiny":
        return VideoSettings(fps=1.0, max_frames=16, timestamps="mrope")
    return VideoSettings(fps=2.0, max_frames=32, timestamps="mrope")


def world_config(size: str) -> Any:
    """The demo's TempoWorld (tiny preset, one object, 2-3 events); 112x112 and 12-16 s for ``small``."""
    from tempoforge.world import preset_config

    if size == "tiny":
        return preset_config("tiny", max_objects=1, min_events=2, max_events=3, min_duration=8.0,
                             max_duration=12.0, workers=2)
    return preset_config("tiny", max_objects=1, min_events=2, max_events=3, min_duration=12.0, max_duration=16.0,
                         width=112, height=112, workers=2)


def bench_pairs(out: Path, size: str, videos: int, seed: int) -> Path:
    """TempoWorld videos and their oracle-captioned TEMPLE pairs, under ``out/<size>`` (reused when present)."""
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.temple import TempleSynthConfig, clip_spans, oracle_clip_captions, temple_pairs
    from tempoforge.world import generate_world

    path = out / size / "pairs.jsonl"
    if path.is_file():
        return path
    world = generate_world(out / size / "world", videos, seed=seed, config=world_config(size), progress=False)
    ann = world.root / "annotations"
    syn = TempleSynthConfig(kinds=list(KINDS), r=[16, 8, 4, 2], clips=8, seed=seed, captioner="oracle")
    pairs = []
    for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample):
        caps = oracle_clip_captions(d, clip_spans(d.duration, syn.clips))
        pairs += temple_pairs(d, caps, syn, video=str((ann / d.video).resolve()))[0]
    write_jsonl(path, pairs)
    return path


def lora_targets(model: Any) -> list[str]:
    """The module names ``tempoforge.train.lora.apply_lora`` adapts with ``all-linear`` and vision frozen."""
    from tempoforge.train.lora import _is_vision

    return sorted(name for name, m in model.named_modules()
                  if isinstance(m, torch.nn.Linear) and "lm_head" not in name and not _is_vision(name))


# ------------------------------------------------------------------------------------------------ TRL adapter
class TRLVideoCollator:
    """TRL ``DPOTrainer`` batches from tempoforge's ``build_example`` tensors (the only TRL part replaced).

    Rows are the TRL dataset's rows (``pair_index`` into a ``PairDataset``). Output: TRL's layout, chosen
    rows first then rejected rows, right-padded, with ``completion_mask`` (1 on the answer tokens, which are
    the tokens ``Example.labels`` marks) instead of labels; the pair's video tensors appear once per row,
    as TRL's vision collator repeats a prompt's images for chosen and rejected.
    """

    def __init__(self, pairs: Any, pad_token_id: int) -> None:
        self.pairs, self.pad_token_id = pairs, pad_token_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        from tempoforge.models.inputs import IGNORE_INDEX, collate

        items = [self.pairs[int(r["pair_index"])] for r in rows]
        batch = collate([p.chosen for p in items] + [p.rejected for p in items], pad_token_id=self.pad_token_id,
                        padding_side="right")
        labels = batch.pop("labels")
        batch["completion_mask"] = (labels != IGNORE_INDEX).long()
        return batch


def trl_dataset(n: int) -> Any:
    """Rows for TRL: ``images: []`` selects its vision path (no tokenisation at init); text is unused."""
    from datasets import Dataset

    return Dataset.from_list([{"images": [], "prompt": "", "chosen": "", "rejected": "", "pair_index": i}
                              for i in range(n)])


def trl_trainer(lm: Any, pairs: Any, opt: Any, lora: Any, beta: float, out: Path) -> Any:
    """A stock TRL ``DPOTrainer`` on ``lm.model`` with our collator and the same LoRA and optimisation."""
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    from tempoforge.models.processor import make_processor

    cuda = torch.cuda.is_available()
    args = DPOConfig(
        output_dir=str(out), learning_rate=opt.learning_rate, max_steps=opt.max_steps,
        per_device_train_batch_size=opt.batch_size, gradient_accumulation_steps=opt.grad_accum,
        warmup_steps=opt.warmup_ratio, weight_decay=opt.weight_decay, lr_scheduler_type=opt.scheduler,
        max_grad_norm=opt.max_grad_norm, seed=opt.seed, data_seed=opt.seed, logging_steps=1, save_strategy="no",
        report_to=[], remove_unused_columns=False, dataloader_num_workers=0, bf16=False, use_cpu=not cuda,
        gradient_checkpointing=opt.gradient_checkpointing, disable_tqdm=True, beta=beta, max_length=None,
        loss_type=["sigmoid"], precompute_ref_log_probs=False,
    )
    peft_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                             target_modules=lora_targets(lm.model), bias="none")
    return DPOTrainer(model=lm.model, args=args, train_dataset=trl_dataset(len(pairs)),
                      processing_class=make_processor(lm), data_collator=TRLVideoCollator(pairs, lm.token_ids["pad"]),
                      peft_config=peft_config)


def trl_step0(trainer: Any, pairs: Any, batch_size: int) -> dict[str, Any]:
    """TRL's loss and per-sequence log-probs on the first batch before any update, vs ``pair_logps``."""
    from tempoforge.train.base import VisionProbe
    from tempoforge.train.dpo import pair_logps

    model = trainer.model
    rows = [trainer.train_dataset[i] for i in range(batch_size)]
    batch = trainer._prepare_inputs(trainer.data_collator(rows))
    with torch.no_grad(), VisionProbe(model) as probe:
        loss = float(trainer.compute_loss(model, batch))
        ref_c, ref_r = trainer.compute_ref_log_probs(model, batch)
    trainer._metrics["train"].clear()
    with torch.no_grad():
        ours_c, ours_r = pair_logps(model, [pairs[i] for i in range(batch_size)], trainer._tokenizer.pad_token_id)
    diff = max(float((ref_c - ours_c).abs().max()), float((ref_r - ours_r).abs().max()))
    return {"loss": loss, "vision_calls": probe.calls, "vision_rows": probe.rows, "logps_max_abs_diff": diff,
            "chosen_logps": ref_c.tolist(), "rejected_logps": ref_r.tolist()}


# ---------------------------------------------------------------------------------------------- measurement
class StepTimer:
    """``TrainerCallback`` recording ``perf_counter`` at train begin and at every step end."""

    @staticmethod
    def create() -> Any:
        from transformers import TrainerCallback

        class _Timer(TrainerCallback):
            def __init__(self) -> None:
                self.marks: list[float] = []

            def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                self.marks = [time.perf_counter()]

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.marks.append(time.perf_counter())

        return _Timer()


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run_worker(which: str, args: argparse.Namespace) -> dict[str, Any]:
    """One trainer, one fresh process: build, check step 0, train ``--steps`` steps, measure."""
    from transformers.trainer_callback import PrinterCallback

    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import PreferencePair
    from tempoforge.train.base import OptimSettings, VisionProbe, loss_history
    from tempoforge.train.dpo import PairDataset, VideoDPOTrainer, _collate_pairs, compute_reference_logps
    from tempoforge.train.lora import LoraSettings, apply_lora, trainable_parameters

    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    pairs = list(read_jsonl(out / args.size / "pairs.jsonl", PreferencePair))[: args.pairs]
    lm = bench_model(args.size, seed=args.seed)
    video = video_settings(args.size)
    dataset = PairDataset(lm, pairs, video)
    for i in range(len(dataset)):  # decode every video once (LRU cache) so both trainers start with frames in memory
        dataset[i]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm.model.to(device)
    opt = OptimSettings(learning_rate=args.lr, max_steps=args.steps, batch_size=args.batch, warmup_ratio=0.0,
                        scheduler="constant", seed=args.seed)
    lora = LoraSettings(r=args.lora_r, alpha=2 * args.lora_r, dropout=0.0)
    pad = lm.token_ids["pad"]
    res: dict[str, Any] = {"trainer": which, "pairs": len(pairs), "device": device}
    example = dataset[0]
    res["tokens"] = {"prompt": example.chosen.prompt_length,
                     "video": int((example.chosen.mm_token_type_ids == 2).sum()),
                     "chosen_answer": len(example.chosen.input_ids) - example.chosen.prompt_length}
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss0 = _maxrss_mib()
    t0 = time.perf_counter()
    if which == "ours":
        from tempoforge.train.base import training_arguments

        model = apply_lora(lm.model, lora)
        t_ref = time.perf_counter()
        dataset.ref = compute_reference_logps(model, dataset, pad, batch_size=args.batch)
        res["ref_pass_s"] = time.perf_counter() - t_ref
        model.train()
        trainer = VideoDPOTrainer.create(model=model, args=training_arguments(opt, out / args.size / "trainer_ours"),
                                         train_dataset=dataset, data_collator=_collate_pairs, beta=args.beta,
                                         pad_token_id=pad)
        batch = _collate_pairs([dataset[i] for i in range(args.batch)])
        with torch.no_grad(), VisionProbe(model) as probe:
            res["step0"] = {"loss": float(trainer.compute_loss(model, batch)), "vision_calls": probe.calls,
                            "vision_rows": probe.rows}
        trainer._stats = {}
    else:
        trainer = trl_trainer(lm, dataset, opt, lora, args.beta, out / args.size / "trainer_trl")
        model = trainer.model
        res["step0"] = trl_step0(trainer, dataset, args.batch)
    res["setup_s"] = time.perf_counter() - t0
    res["trainable_params"] = trainable_parameters(model)[0]
    timer = StepTimer.create()
    trainer.add_callback(timer)
    trainer.remove_callback(PrinterCallback)
    with VisionProbe(model) as probe:
        trainer.train()
    res["train_s"] = timer.marks[-1] - timer.marks[0]
    res["step_s"] = [b - a for a, b in zip(timer.marks, timer.marks[1:], strict=False)]
    res["vision_calls_per_step"] = probe.calls / max(1, len(res["step_s"]))
    res["vision_rows_per_step"] = probe.rows / max(1, len(res["step_s"]))
    res["losses"] = loss_history(trainer)
    res["peak_rss_delta_mib"] = _maxrss_mib() - rss0
    res["peak_rss_mib"] = _maxrss_mib()
    if device == "cuda":
        res["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return res


# ------------------------------------------------------------------------------------------------ reporting
def summarize(runs: list[dict[str, Any]], warmup: int, batch: int) -> dict[str, Any]:
    """Per trainer: median / mean step time after warm-up over all repeats, memory, checks."""
    out: dict[str, Any] = {}
    for which in ("ours", "trl"):
        rs = [r for r in runs if r["trainer"] == which]
        steps = [s for r in rs for s in r["step_s"][warmup:]]
        row: dict[str, Any] = {
            "step_median_s": statistics.median(steps), "step_mean_s": statistics.fmean(steps),
            "step_sd_s": statistics.stdev(steps) if len(steps) > 1 else 0.0, "steps_timed": len(steps),
            "peak_rss_delta_mib": statistics.median(r["peak_rss_delta_mib"] for r in rs),
            "vision_calls_per_step": rs[0]["vision_calls_per_step"],
            "vision_rows_per_step": rs[0]["vision_rows_per_step"],
            "step0_loss": [r["step0"]["loss"] for r in rs], "trainable_params": rs[0]["trainable_params"],
            "tokens": rs[0]["tokens"],
        }
        if "cuda_peak_mib" in rs[0]:
            row["cuda_peak_mib"] = statistics.median(r["cuda_peak_mib"] for r in rs)
        if which == "ours":
            ref = statistics.median(r["ref_pass_s"] for r in rs)
            row["ref_pass_s"] = ref
            n = rs[0]["pairs"]
            row["ref_per_step_amortised_s"] = ref / max(1, n // batch)  # one epoch = n / batch steps
        else:
            row["logps_max_abs_diff"] = max(r["step0"]["logps_max_abs_diff"] for r in rs)
        out[which] = row
    out["ratio_step_median"] = out["ours"]["step_median_s"] / out["trl"]["step_median_s"]
    # each repeat ran ours then TRL back to back: their ratio is the least exposed to changes of machine load
    ours_runs = [r for r in runs if r["trainer"] == "ours"]
    trl_runs = [r for r in runs if r["trainer"] == "trl"]
    out["ratio_per_repeat"] = [statistics.median(o["step_s"][warmup:]) / statistics.median(t["step_s"][warmup:])
                               for o, t in zip(ours_runs, trl_runs, strict=True)]
    out["ratio_step_median_with_ref_amortised"] = (
        (out["ours"]["step_median_s"] + out["ours"]["ref_per_step_amortised_s"]) / out["trl"]["step_median_s"])
    return out


def print_table(s: dict[str, Any], args: argparse.Namespace) -> None:
    o, t = s["ours"], s["trl"]
    print(f"\nDPO step benchmark  size={args.size} pairs={args.pairs} batch={args.batch} steps={args.steps} "
          f"(warm-up {args.warmup}) repeats={args.repeats} threads={args.threads} LoRA r={args.lora_r}")
    print(f"tokens per prompt {o['tokens']['prompt']} (video {o['tokens']['video']}), chosen answer "
          f"{o['tokens']['chosen_answer']}; trainable params ours {o['trainable_params']} / TRL {t['trainable_params']}")
    head = (f"{'trainer':<26}{'step median s':>14}{'mean +- sd s':>17}{'peak RSS +MiB':>15}"
            f"{'vision calls/step':>19}{'vision rows/step':>18}{'step-0 loss':>13}")
    print(head)
    print("-" * len(head))
    for name, r in (("tempoforge VideoDPOTrainer", o), ("TRL 1.16 DPOTrainer", t)):
        print(f"{name:<26}{r['step_median_s']:>14.3f}{r['step_mean_s']:>10.3f} +- {r['step_sd_s']:<5.3f}"
              f"{r['peak_rss_delta_mib']:>13.0f}{r['vision_calls_per_step']:>19.1f}{r['vision_rows_per_step']:>18.0f}"
              f"{statistics.fmean(r['step0_loss']):>13.5f}")
    per = ", ".join(f"{x:.3f}" for x in s["ratio_per_repeat"])
    print(f"{'ratio ours / TRL':<26}{s['ratio_step_median']:>14.3f}   (target <= 0.6; per repeat: {per})")
    print(f"ours: one-off reference pass {o['ref_pass_s']:.2f} s for {args.pairs} pairs = "
          f"{o['ref_per_step_amortised_s']:.3f} s per step over one epoch; ratio with it amortised "
          f"{s['ratio_step_median_with_ref_amortised']:.3f}")
    if "cuda_peak_mib" in o:
        print(f"CUDA peak allocated: ours {o['cuda_peak_mib']:.0f} MiB, TRL {t['cuda_peak_mib']:.0f} MiB")
    print(f"checks: step-0 loss = log 2 = {LOG2:.5f} for both; TRL vs pair_logps on batch 1: max |diff| "
          f"{t['logps_max_abs_diff']:.2e}")


def check(s: dict[str, Any]) -> None:
    for which in ("ours", "trl"):
        for loss in s[which]["step0_loss"]:
            assert abs(loss - LOG2) < 1e-4, f"{which}: step-0 loss {loss} != log 2"
        assert s[which]["vision_calls_per_step"] > 0, f"{which}: the vision tower never ran during training"
    assert s["trl"]["logps_max_abs_diff"] < 1e-3, "TRL and tempoforge disagree on the log-probs of batch 1"
    assert s["ours"]["trainable_params"] == s["trl"]["trainable_params"], "LoRA differs between the trainers"


def _worker_argv(args: argparse.Namespace, which: str) -> list[str]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", which]
    for key in ("out", "size", "pairs", "batch", "steps", "warmup", "lr", "beta", "lora_r", "seed", "threads"):
        argv += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    return argv


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_dpo_step", help="work folder; everything goes to OUT/SIZE/ (world, pairs.jsonl, results.json)")
    p.add_argument("--size", default="small", choices=["tiny", "small"], help="model size (see above)")
    p.add_argument("--videos", type=int, default=12, help="TempoWorld videos to make pairs from")
    p.add_argument("--pairs", type=int, default=36, help="pairs used (one epoch = pairs / batch steps)")
    p.add_argument("--batch", type=int, default=4, help="pairs per step (per-device batch)")
    p.add_argument("--steps", type=int, default=9, help="optimizer steps per run")
    p.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    p.add_argument("--repeats", type=int, default=2, help="runs per trainer (alternating, fresh processes)")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate (constant)")
    p.add_argument("--beta", type=float, default=0.1, help="DPO beta")
    p.add_argument("--lora-r", type=int, default=8, help="LoRA rank (alpha = 2r, dropout 0, all linear, LM only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the world, pairs, model and LoRA")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--worker", default=None, choices=["ours", "trl"], help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if args.worker is not None:
        res = run_worker(args.worker, args)
        (out / args.size / f"worker_{args.worker}.json").write_text(json.dumps(res))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    n = sum(1 for _ in bench_pairs(out, args.size, args.videos, args.seed).open())
    if n < args.pairs:
        raise SystemExit(f"only {n} pairs from {args.videos} videos; raise --videos or lower --pairs")
    if args.steps - args.warmup < 2:
        raise SystemExit("--steps must exceed --warmup by at least 2")
    runs = []
    for rep in range(args.repeats):
        for which in ("ours", "trl"):
            t0 = time.perf_counter()
            subprocess.run(_worker_argv(args, which), check=True)
            runs.append(json.loads((out / args.size / f"worker_{which}.json").read_text()))
            print(f"[repeat {rep + 1}/{args.repeats}] {which}: {time.perf_counter() - t0:.0f} s in its process",
                  flush=True)
    summary = summarize(runs, args.warmup, args.batch)
    (out / args.size / "results.json").write_text(json.dumps({"args": vars(args), "summary": summary, "runs": runs}, indent=1))
    print_table(summary, args)
    check(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

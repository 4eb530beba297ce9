"""The GPU suite: what the first CUDA GPU should measure, in one unattended run of at most 8 minutes.

    benchmarks/gpu_suite.sh [--out DIR]          # on a machine with a CUDA GPU, after `make install`
    benchmarks/gpu_suite.sh --dry-run --out DIR  # the same wiring on CPU with a tiny model (what the test runs)

Steps, each in its own process with its own time box (a hung or failed step is recorded and the suite goes
on; the whole suite stops by itself at ``--budget`` seconds):

1. ``env``      torch / CUDA / GPU facts (without CUDA and without ``--dry-run``: exit 2 with a one-line message)
2. ``init``     the Qwen2.5-VL-3B architecture at random init (``tempoforge.models.real``, bf16, all 36 layers),
                written once to ``OUT/model``; a 64 s clip (448x448 at 1 fps, 64 frames) and a 33 s clip
                (2 fps) written to ``OUT/clips``
3. ``dpo_ours`` / ``dpo_trl``  one DPO step of tempoforge's ``VideoDPOTrainer`` and of TRL's ``DPOTrainer`` fed by
                the same video collator (``benchmarks/dpo_step.py``'s ``TRLVideoCollator``): 64 frames at the
                TEMPLE preset's 448x448 cap (8,192 video tokens), bf16, LoRA r 32, gradient checkpointing on (the
                preset's settings), one pair per step; 2 steps, the second timed; CUDA peak memory
4. ``grpo``     one GRPO step with generation (``train/grpo.py``): the Tempo-R0 preset's video settings (2 fps,
                64 frames, SAA, text timestamps), group of 8, 64 new tokens, LoRA r 64, checkpointing on
5. ``transnet`` TransNetV2 on the GPU vs the CPU (frames per second; ``curate/shots.py``)
6. ``decode``   ``benchmarks/decode.py``'s job "32 uniform" on a 2-minute 720p video (tempoforge vs naive PyAV vs
                decord), and the frame resize of the tensorizer on the CPU vs the same frames resized on the GPU

Output: ``OUT/summary.json`` (every number, every step's status and log tail) and ``OUT/summary.md``.
``--dry-run``: the tiny Qwen2.5-VL (``build_tiny``), 8 frames of 56x56, a 6 s decode video, 64 TransNetV2
frames, everything on the CPU; the numbers mean nothing, the wiring is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEPS = ("env", "init", "dpo_ours", "dpo_trl", "grpo", "transnet", "decode")
CAPS = {"env": 60, "init": 150, "dpo_ours": 150, "dpo_trl": 150, "grpo": 150, "transnet": 90, "decode": 150}
PROMPT = "Describe what happens in this video, in order."
CHOSEN = "First, a red square enters from the left. Then it crosses the frame. Finally, it leaves on the right."
REJECTED = "First, a red square leaves on the right. Then it crosses the frame. Finally, it enters from the left."


# --------------------------------------------------------------------------------------------- helpers
def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _device(args: argparse.Namespace) -> str:
    return "cpu" if args.dry_run else "cuda"


def _peak_mib() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def _load(args: argparse.Namespace) -> Any:
    from tempoforge.models.load import load

    return load(Path(args.out) / "model", dtype="bfloat16", device=_device(args))


def _clip(args: argparse.Namespace, fps: int) -> str:
    return str(Path(args.out) / "clips" / f"clip_{fps}fps.mp4")


class _Timer:
    """A ``TrainerCallback`` that records the wall time of every optimizer step (CUDA synchronised)."""

    @staticmethod
    def create() -> Any:
        import torch
        from transformers import TrainerCallback

        class T(TrainerCallback):
            def __init__(self) -> None:
                self.marks: list[float] = []

            def on_step_begin(self, *a: Any, **k: Any) -> None:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.marks.append(time.perf_counter())

            def on_step_end(self, *a: Any, **k: Any) -> None:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.marks.append(time.perf_counter())

        return T()


# ------------------------------------------------------------------------------------------------ steps
def step_env(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import transformers
    import trl

    info: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                            "transformers": transformers.__version__, "trl": trl.__version__,
                            "cuda": torch.cuda.is_available(), "dry_run": args.dry_run}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=p.name, gpu_mem_gib=round(p.total_memory / 2**30, 1), cuda_version=torch.version.cuda,
                    bf16=torch.cuda.is_bf16_supported())
    return info


def step_init(args: argparse.Namespace) -> dict[str, Any]:
    from tempoforge.plan.measure import _write_clip

    out = Path(args.out)
    t0 = time.perf_counter()
    if args.dry_run:
        from tempoforge.models.tiny import build_tiny

        lm = build_tiny("qwen2_5_vl", out / "model")
        size = (56, 56)
    else:
        from tempoforge.models.real import init_real

        lm = init_real("qwen2_5_vl", "3b", out / "model", dtype="bfloat16")
        size = (448, 448)
    n = sum(p.numel() for p in lm.model.parameters())
    build_s = time.perf_counter() - t0
    (out / "clips").mkdir(parents=True, exist_ok=True)
    frames = 8 if args.dry_run else 64
    _write_clip(Path(_clip(args, 1)), frames + 1, 1, size)
    _write_clip(Path(_clip(args, 2)), frames / 2 + 1, 2, size)
    return {"model": "tiny qwen2_5_vl" if args.dry_run else "Qwen2.5-VL-3B-Instruct architecture (random)",
            "params": n, "build_and_write_s": build_s, "frames": frames, "frame_size": list(size)}


def _dpo_setup(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    from tempoforge.models.video import VideoSettings
    from tempoforge.records import PreferencePair
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.dpo import PairDataset
    from tempoforge.train.lora import LoraSettings

    lm = _load(args)
    frames = 8 if args.dry_run else 64
    video = VideoSettings(fps=1.0, max_frames=frames, max_pixels=None if args.dry_run else 448 * 448)
    pairs = [PreferencePair(id=f"p{k}", video=_clip(args, 1), prompt=PROMPT, chosen=CHOSEN, rejected=REJECTED,
                            kind="reverse", r=2, seed=0) for k in range(2)]
    data = PairDataset(lm, pairs, video)
    opt = OptimSettings(learning_rate=1e-5, max_steps=2, batch_size=1, warmup_ratio=0.0, scheduler="constant",
                        bf16=True, gradient_checkpointing=True)
    return lm, data, opt, LoraSettings(r=8 if args.dry_run else 32, alpha=16 if args.dry_run else 64, dropout=0.0)


def _tokens(data: Any) -> dict[str, int]:
    ex = data[0].chosen
    return {"sequence": len(ex.input_ids), "video": int((ex.mm_token_type_ids != 0).sum())}


def step_dpo_ours(args: argparse.Namespace) -> dict[str, Any]:
    from tempoforge.train.base import training_arguments
    from tempoforge.train.dpo import VideoDPOTrainer, _collate_pairs, compute_reference_logps
    from tempoforge.train.lora import apply_lora

    lm, data, opt, lora = _dpo_setup(args)
    pad = lm.token_ids["pad"]
    model = apply_lora(lm.model, lora)
    t0 = time.perf_counter()
    data.ref = compute_reference_logps(model, data, pad, batch_size=1)
    ref_s = time.perf_counter() - t0
    model.train()
    trainer = VideoDPOTrainer.create(model=model, args=training_arguments(opt, Path(args.out) / "trainer_ours"),
                                     train_dataset=data, data_collator=_collate_pairs, beta=0.1, pad_token_id=pad)
    timer = _Timer.create()
    trainer.add_callback(timer)
    trainer.train()
    steps = [b - a for a, b in zip(timer.marks[::2], timer.marks[1::2], strict=False)]
    return {"step_s": steps[-1], "steps_s": steps, "reference_pass_s": ref_s, "cuda_peak_mib": _peak_mib(),
            "losses": [r["loss"] for r in trainer.state.log_history if "loss" in r], "tokens": _tokens(data)}


def step_dpo_trl(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import torch
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    from dpo_step import TRLVideoCollator, lora_targets, trl_dataset
    from tempoforge.models.processor import make_processor

    lm, data, opt, lora = _dpo_setup(args)
    cuda = torch.cuda.is_available()
    cfg = DPOConfig(output_dir=str(Path(args.out) / "trainer_trl"), learning_rate=opt.learning_rate,
                    max_steps=opt.max_steps, per_device_train_batch_size=opt.batch_size, warmup_steps=0.0,
                    lr_scheduler_type="constant", logging_steps=1, save_strategy="no", report_to=[],
                    remove_unused_columns=False, dataloader_num_workers=0, bf16=cuda, use_cpu=not cuda,
                    gradient_checkpointing=True, disable_tqdm=True, beta=0.1, max_length=None,
                    loss_type=["sigmoid"], precompute_ref_log_probs=False)
    peft = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=0.0, target_modules=lora_targets(lm.model),
                      bias="none")
    trainer = DPOTrainer(model=lm.model, args=cfg, train_dataset=trl_dataset(len(data)),
                         processing_class=make_processor(lm),
                         data_collator=TRLVideoCollator(data, lm.token_ids["pad"]), peft_config=peft)
    timer = _Timer.create()
    trainer.add_callback(timer)
    trainer.train()
    steps = [b - a for a, b in zip(timer.marks[::2], timer.marks[1::2], strict=False)]
    return {"step_s": steps[-1], "steps_s": steps, "cuda_peak_mib": _peak_mib(),
            "losses": [r["loss"] for r in trainer.state.log_history if "loss" in r], "tokens": _tokens(data)}


def step_grpo(args: argparse.Namespace) -> dict[str, Any]:
    from tempoforge.models.video import VideoSettings
    from tempoforge.records import GroundingSample, Span
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.grpo import GRPOSettings, run_grpo
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.recipes.tempo_r0 import grpo_items

    lm = _load(args)
    frames = 8 if args.dry_run else 64
    settings = GRPOSettings(
        num_generations=8, max_new_tokens=8 if args.dry_run else 64, beta=0.04, rewards=["format", "refusal_penalty"],
        optim=OptimSettings(learning_rate=1e-6, max_steps=1, batch_size=1, warmup_ratio=0.0, bf16=True,
                            gradient_checkpointing=True),
        lora=LoraSettings(r=8 if args.dry_run else 64, alpha=16 if args.dry_run else 128, dropout=0.05),
        video=VideoSettings(fps=2.0, max_frames=frames, max_pixels=None if args.dry_run else 448 * 448,
                            timestamps="text", selection="saa"))
    d = frames / 2
    items = grpo_items([GroundingSample(id="g0", video=_clip(args, 2), query="the red square crosses the frame",
                                        spans=[Span.of(d / 4, d / 2)], duration=d)], None)
    t0 = time.perf_counter()
    res = run_grpo(lm, items, settings, Path(args.out) / "trainer_grpo", progress=False)
    return {"step_s": time.perf_counter() - t0, "cuda_peak_mib": _peak_mib(), "reward": res.rewards,
            "completion_length": res.stats.get("completion_length"), "generations": settings.num_generations}


def step_transnet(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from tempoforge.curate.shots import transnetv2_probabilities

    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for device, n in (("cpu", 64 if args.dry_run else 300), ("cuda", 0 if args.dry_run else 6000)):
        if n == 0:
            continue
        thumbs = rng.integers(0, 256, (n, 27, 48, 3), dtype=np.uint8)
        transnetv2_probabilities(thumbs[:100], device=device)  # load + warm-up
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
        t0 = time.perf_counter()
        probs = transnetv2_probabilities(thumbs, device=device)
        dt = time.perf_counter() - t0
        assert probs.shape == (n,)
        out[f"{device}_frames_per_s"] = n / dt
    if "cuda_frames_per_s" in out:
        out["gpu_speedup"] = out["cuda_frames_per_s"] / out["cpu_frames_per_s"]
    return out


def step_decode(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import numpy as np
    import torch

    import decode
    from tempoforge.io import sample
    from tempoforge.models.tensorize import VisionSpec, tensorize_video

    minutes = 0.1 if args.dry_run else 2.0
    path = decode.make_video(minutes)
    times = decode.wanted_times(minutes * 60, "32 uniform")
    out: dict[str, Any] = {"video_minutes": minutes}
    runs = {"tempoforge": decode.run_tempoforge, "naive PyAV": decode.run_naive_pyav}
    try:
        import decord  # noqa: F401

        runs["decord"] = decode.run_decord
    except ImportError:
        out["decord"] = "not installed"
    for name, fn in runs.items():
        t0 = time.perf_counter()
        n, got = fn(path, times)
        out[f"{name}_s"] = time.perf_counter() - t0
        out[f"{name}_times_ok"] = bool(n == len(times) and np.allclose(np.sort(got), np.sort(decode.truth(times)),
                                                                       atol=1e-3))
    # the tensorizer's resize (720p -> the 448x448 cap) on the CPU, and the same frames resized on the GPU
    frames = sample(path, times=times.tolist()).data
    spec = VisionSpec(video_min_pixels=56 * 56, video_max_pixels=448 * 448)
    t0 = time.perf_counter()
    cpu = tensorize_video(frames, spec)
    out["tensorize_cpu_s"] = time.perf_counter() - t0
    if torch.cuda.is_available():
        x = torch.from_numpy(frames).cuda().permute(0, 3, 1, 2).float()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        y = torch.nn.functional.interpolate(x, size=cpu.resized, mode="bicubic", antialias=True,
                                            align_corners=False).clamp_(0, 255).round_()
        torch.cuda.synchronize()
        out["resize_gpu_s"] = time.perf_counter() - t0
        out["resize_gpu_shape"] = list(y.shape)
    else:
        out["resize_gpu_s"] = None
    return out


STEP_FNS = {"env": step_env, "init": step_init, "dpo_ours": step_dpo_ours, "dpo_trl": step_dpo_trl,
            "grpo": step_grpo, "transnet": step_transnet, "decode": step_decode}


# ------------------------------------------------------------------------------------------------ driver
def run_step(name: str, args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    """Run one step in a fresh process, time-boxed; its result (or failure) as a dict."""
    out = Path(args.out)
    result = out / "steps" / f"{name}.json"
    log = out / "steps" / f"{name}.log"
    result.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--out", str(out)]
    if args.dry_run:
        argv.append("--dry-run")
    t0 = time.perf_counter()
    status = "ok"
    with log.open("w") as f:
        try:
            rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout).returncode
            if rc != 0:
                status = f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            status = f"timeout after {timeout:.0f} s"
    row: dict[str, Any] = {"step": name, "status": status, "seconds": round(time.perf_counter() - t0, 1)}
    if status == "ok" and result.is_file():
        row["result"] = json.loads(result.read_text())
    elif status == "ok":
        row["status"] = "failed (no result written)"
    if row["status"] != "ok":
        row["log_tail"] = log.read_text()[-2000:]
    return row


def markdown(summary: dict[str, Any]) -> str:
    """The human summary: one line per step, then the headline comparisons."""
    lines = [f"# tempoforge GPU suite ({'dry run, CPU' if summary['dry_run'] else 'CUDA'})", "",
             f"{summary['started']} · {summary['total_s']:.0f} s of a {summary['budget_s']:.0f} s budget", "",
             "| step | status | seconds |", "|---|---|---|"]
    res: dict[str, Any] = {}
    for row in summary["steps"]:
        lines.append(f"| {row['step']} | {row['status']} | {row['seconds']} |")
        res[row["step"]] = row.get("result", {})
    lines.append("")
    env = res.get("env", {})
    if env:
        lines.append(f"torch {env.get('torch')}, transformers {env.get('transformers')}, TRL {env.get('trl')}; "
                     f"GPU: {env.get('gpu', 'none')} ({env.get('gpu_mem_gib', '-')} GiB)")
    ours, trl = res.get("dpo_ours", {}), res.get("dpo_trl", {})
    if ours and trl:
        ratio = ours["step_s"] / trl["step_s"] if trl.get("step_s") else float("nan")
        frames = res.get("init", {}).get("frames", "?")
        lines += ["", f"| DPO step (1 pair, {frames} frames, bf16, LoRA, checkpointing) | step s | peak MiB |",
                  "|---|---|---|",
                  f"| tempoforge VideoDPOTrainer | {ours['step_s']:.2f} | {ours.get('cuda_peak_mib') or '-'} |",
                  f"| TRL DPOTrainer (same collator) | {trl['step_s']:.2f} | {trl.get('cuda_peak_mib') or '-'} |",
                  f"| ratio ours / TRL | {ratio:.2f} | |",
                  f"| tokens per sequence (video) | {ours['tokens']['sequence']} ({ours['tokens']['video']}) | |"]
    if res.get("grpo"):
        g = res["grpo"]
        lines.append(f"\nGRPO step with generation (group {g['generations']}): {g['step_s']:.1f} s, "
                     f"peak {g.get('cuda_peak_mib') or '-'} MiB")
    if res.get("transnet"):
        t = res["transnet"]
        lines.append("\nTransNetV2: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items() if isinstance(v, float)))
    if res.get("decode"):
        d = res["decode"]
        lines.append("\nDecode (32 uniform frames): " + ", ".join(
            f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items()))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=None, help="output folder (default: runs/gpu_suite_<date>)")
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny model, tiny inputs: check the wiring")
    p.add_argument("--budget", type=float, default=470.0, help="seconds for the whole suite (default: 470)")
    p.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS, help="steps to run (default: all)")
    p.add_argument("--step", default=None, choices=STEPS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.out = args.out or f"runs/gpu_suite_{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(args.out)
    if args.step is not None:  # one step, in this process
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        res = STEP_FNS[args.step](args)
        (out / "steps" / f"{args.step}.json").write_text(json.dumps(res, indent=2, default=str))
        return 0
    if not args.dry_run and not _cuda():
        print("gpu_suite: no CUDA GPU visible to torch (torch.cuda.is_available() is False); run it on a GPU "
              "machine, or with --dry-run to check the wiring on CPU", file=sys.stderr)
        return 2
    (out / "steps").mkdir(parents=True, exist_ok=True)
    started, t0 = time.strftime("%Y-%m-%d %H:%M:%S"), time.perf_counter()
    rows = []
    for name in [s for s in STEPS if s in args.steps or s in ("env", "init")]:
        left = args.budget - (time.perf_counter() - t0)
        if left < 20:
            rows.append({"step": name, "status": "skipped (budget spent)", "seconds": 0})
            continue
        rows.append(run_step(name, args, min(CAPS[name], left)))
        print(f"[gpu_suite] {name}: {rows[-1]['status']} in {rows[-1]['seconds']} s", flush=True)
        if name == "init" and rows[-1]["status"] != "ok":
            break  # nothing else can run without the model
    summary = {"started": started, "dry_run": args.dry_run, "budget_s": args.budget,
               "total_s": round(time.perf_counter() - t0, 1), "steps": rows}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "summary.md").write_text(markdown(summary))
    print(f"[gpu_suite] wrote {out / 'summary.json'} and {out / 'summary.md'}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

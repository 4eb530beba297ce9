"""``tempoforge plan``: the memory plan of a training preset, optionally checked against a measured step."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tempoforge.cli_parts import add_command

__all__ = ["backend_of", "make_plan", "register"]

_DESCRIPTION = (
    "Estimates, before launching, whether a training preset fits: per stage, the parameters (total, "
    "trainable), the tokens of one sequence (the preset's frame budget and pixel cap through the checkpoint's "
    "resize rules), and per GPU the weights, gradients, optimizer states, activations (frames x tokens per frame "
    "x layers), the largest transient (logits or a recomputed layer) and the peak, under the preset's "
    "DeepSpeed / FSDP / DDP config. With --measure it runs one real training step of every stage on the "
    "preset's architecture cut to --layers layers (same widths, random weights, bf16; on the GPU when there is "
    "one) and prints the measured peak beside the estimate for that same cut model. The model is the preset's "
    "checkpoint when the directory exists, else the published architecture its name matches.")


def backend_of(accelerate: Path) -> tuple[str, int]:
    """``(backend, processes)`` of an accelerate config file (``configs/accelerate/*.yaml``)."""
    from tempoforge.config import read_yaml
    from tempoforge.errors import UserError

    cfg = read_yaml(accelerate)
    kind = str(cfg.get("distributed_type", "NO")).upper()
    n = int(cfg.get("num_processes", 1) or 1)
    if kind == "DEEPSPEED":
        stage = int((cfg.get("deepspeed_config") or {}).get("zero_stage", 2))
        if stage not in (2, 3):
            raise UserError(f"{accelerate}: ZeRO stage {stage} is not planned (2 or 3)")
        return f"zero{stage}", n
    if kind == "FSDP":
        return "fsdp", n
    if kind in ("MULTI_GPU", "NO"):
        return ("ddp" if n > 1 else "single"), n
    raise UserError(f"{accelerate}: distributed_type {kind} is not planned (DEEPSPEED, FSDP, MULTI_GPU, NO)")


def _gib(x: float) -> str:
    from tempoforge.plan.estimate import GIB

    return f"{x / GIB:.1f}"


def make_plan(preset: Path, *, model: str | None, backend: str, gpus: int, gpu_mem: float,
              source: tuple[int, int], prompt_tokens: int, answer_tokens: int | None) -> dict[str, Any]:
    """The plan of every stage of ``preset`` (a JSON-ready dict)."""
    from tempoforge.plan.estimate import estimate
    from tempoforge.plan.presets import read_preset, resolve_model, stage_video, workload
    from tempoforge.plan.shapes import model_shape

    plan = read_preset(preset)
    ref = resolve_model(model or plan.model)
    shape = model_shape(ref.config)
    stages = []
    for st in plan.stages:
        vt = stage_video(st, ref, source)
        w = workload(st, vt, prompt_tokens=prompt_tokens,
                     answer_tokens=answer_tokens if st.kind != "grpo" else None)
        est = estimate(shape, w, backend, gpus)
        notes = []
        v = st.video
        if v.max_pixels is not None and vt.size[0] * vt.size[1] > v.max_pixels:
            notes.append(f"frames are rounded to {vt.size[1]}x{vt.size[0]} on the {ref.spec.factor}-pixel grid "
                         f"({vt.size[0] * vt.size[1]} pixels, above max_pixels {v.max_pixels})")
        stages.append({"stage": st.name, "kind": st.kind, "frames": vt.frames, "frame_size": list(vt.size),
                       "video_tokens": vt.lm_tokens, "sequence_tokens": est.tokens, "batch": w.batch,
                       "checkpointing": w.checkpointing, "trainable": est.trainable, "parts": est.parts,
                       "peak": est.peak, "fits": est.fits(gpu_mem), "notes": notes})
    return {"preset": str(preset), "method": plan.method, "model": ref.source, "params": shape.params,
            "backend": backend, "gpus": gpus, "gpu_mem_gib": gpu_mem, "source": list(source), "stages": stages}


def _print_plan(p: dict[str, Any]) -> None:
    print(f"{p['preset']} ({p['method']}) on the {p['model']}: {p['params'] / 1e9:.2f}B parameters")
    print(f"{p['backend']} on {p['gpus']} GPU(s) x {p['gpu_mem_gib']:g} GiB; videos {p['source'][1]}x"
          f"{p['source'][0]} sampled at the preset's fps and frame cap; GiB per GPU:")
    head = (f"{'stage':<22}{'trainable':>11}{'frames':>7}{'tok/seq':>9}{'weights':>9}{'grads':>7}{'optim':>7}"
            f"{'activ.':>8}{'transient':>10}{'peak':>7}  fits")
    print(head)
    print("-" * len(head))
    for s in p["stages"]:
        q = s["parts"]
        print(f"{s['stage']:<22}{s['trainable'] / 1e6:>10.1f}M{s['frames']:>7}{s['sequence_tokens']:>9}"
              f"{_gib(q['weights']):>9}{_gib(q['gradients']):>7}{_gib(q['optimizer']):>7}{_gib(q['activations']):>8}"
              f"{_gib(q['transient']):>10}{_gib(s['peak']):>7}  {'yes' if s['fits'] else 'NO'}")
        for n in s["notes"]:
            print(f"  note: {n}")


def _measure(args: argparse.Namespace, preset: Path) -> list[dict[str, Any]]:
    """One step per stage at ``--layers`` layers, with the estimate for that same cut model beside it."""
    import tempfile

    from tempoforge.plan.estimate import estimate
    from tempoforge.plan.measure import run_preset
    from tempoforge.plan.presets import Stage, resolve_model, workload
    from tempoforge.plan.shapes import VideoTokens, model_shape

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tempoforge-plan-"))
    plan, runs = run_preset(preset, work, layers=args.layers, steps=1, pixels=args.pixels, max_new=args.max_new,
                            generations=args.generations, batch=args.batch)
    import torch

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    ref = resolve_model(plan.model, layers=args.layers)
    shape = model_shape(ref.config)
    rows = []
    for st, run in zip(plan.stages, runs, strict=True):
        cut = Stage(st.name, st.kind, run.settings, run.answer_tokens)
        vt = VideoTokens(run.frames, (0, 0), run.video_tokens, run.vision_rows)
        est = estimate(shape, workload(cut, vt, prompt_tokens=run.prompt_tokens), "local", 1, autocast=dev == "cuda")
        if dev == "cuda":
            est.parts["overhead"] = 0  # the allocator's peak leaves out the CUDA context
        rows.append({"stage": run.name, "device": dev, "layers": args.layers, "tokens": est.tokens,
                     "estimate": est.peak, "measured": run.peak_bytes, "seconds": run.seconds, "losses": run.losses})
    return rows


def _print_measured(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    r0 = rows[0]
    print(f"\nmeasured: one step per stage at {r0['layers']} layers on {r0['device']} (bf16), GiB above the "
          "memory in use before the model was built:")
    head = f"{'stage':<22}{'tok/seq':>9}{'estimate':>10}{'measured':>10}{'ratio':>7}{'step s':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['stage']:<22}{r['tokens']:>9}{_gib(r['estimate']):>10}{_gib(r['measured']):>10}"
              f"{r['estimate'] / max(1, r['measured']):>7.2f}{r['seconds']:>8.1f}")


def _plan(args: argparse.Namespace) -> int:
    from tempoforge.errors import UserError
    from tempoforge.presets import resolve_config

    preset = resolve_config(args.config, "train")
    backend, gpus = args.backend, args.gpus
    if args.accelerate is not None:
        backend, n = backend_of(Path(args.accelerate))
        gpus = args.gpus if args.gpus_given else n
    try:
        h, w = (int(x) for x in args.source.lower().split("x"))
    except ValueError:
        raise UserError(f"--source must be HEIGHTxWIDTH, e.g. 720x1280, got {args.source!r}") from None
    p = make_plan(preset, model=args.model, backend=backend, gpus=gpus, gpu_mem=args.gpu_mem, source=(h, w),
                  prompt_tokens=args.prompt_tokens, answer_tokens=args.answer_tokens)
    _print_plan(p)
    if args.measure:
        p["measured"] = _measure(args, preset)
        _print_measured(p["measured"])
    if args.json:
        from tempoforge.io.jsonl import atomic_write_text

        atomic_write_text(Path(args.json), json.dumps(p, indent=2))
    return 0 if all(s["fits"] for s in p["stages"]) else 1


class _Gpus(argparse.Action):
    def __call__(self, parser: Any, ns: argparse.Namespace, values: Any, option: Any = None) -> None:
        ns.gpus, ns.gpus_given = values, True


def _arguments(p: argparse.ArgumentParser) -> None:
    from tempoforge.plan.estimate import BACKENDS
    from tempoforge.presets import preset_names

    p.add_argument("--config", required=True, help="training preset: a YAML file or the name of a shipped preset ("
                   + (", ".join(n for n in preset_names("train") if not n.endswith("_tiny")) or "none installed") + ")")
    p.add_argument("--model", default=None, help="checkpoint directory to plan for (default: the preset's model)")
    p.add_argument("--accelerate", default=None,
                   help="accelerate config file (e.g. the source tree's ddp / zero2 / zero3 / fsdp YAMLs): sets the "
                   "backend and the GPU count")
    p.add_argument("--backend", default="zero2", choices=[b for b in BACKENDS if b != "local"],
                   help="distributed backend when no --accelerate is given (default: zero2)")
    p.add_argument("--gpus", type=int, default=8, action=_Gpus, help="processes / GPUs (default: 8)")
    p.add_argument("--gpu-mem", type=float, default=80.0, help="memory of one GPU in GiB (default: 80)")
    p.add_argument("--source", default="720x1280", help="HEIGHTxWIDTH of the training videos (default: 720x1280)")
    p.add_argument("--prompt-tokens", type=int, default=96, help="text tokens of a prompt (default: 96)")
    p.add_argument("--answer-tokens", type=int, default=None,
                   help="answer tokens (default per stage: DPO 64, SFT 128, dense 512, D2VLM 256; GRPO: max_new_tokens)")
    p.add_argument("--json", default=None, help="also write the plan (and measurements) to this JSON file")
    m = p.add_argument_group("measurement")
    m.add_argument("--measure", action="store_true", help="run one step per stage at --layers layers and compare")
    m.add_argument("--layers", type=int, default=2, help="decoder layers and vision blocks of the cut model (default: 2)")
    m.add_argument("--pixels", type=int, default=None,
                   help="pixels per frame of the measured step (default: the checkpoint's limits on 448x448 clips; "
                        "784 = one token per frame pair, for CPUs)")
    m.add_argument("--max-new", type=int, default=8, help="GRPO completion length of the measured step (default: 8)")
    m.add_argument("--generations", type=int, default=None, help="GRPO group size of the measured step "
                                                                   "(default: the preset's)")
    m.add_argument("--batch", type=int, default=None, help="per-device batch of the measured step (default: the preset's)")
    m.add_argument("--work", default=None, help="folder for the synthetic clips and trainer outputs (default: a temp dir)")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "plan", _arguments,
                    help="memory per GPU of a training preset, before launching (optionally measured)",
                    description=_DESCRIPTION)
    p.set_defaults(func=_plan, gpus_given=False)

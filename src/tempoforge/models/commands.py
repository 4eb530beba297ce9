"""``tempoforge predict``, ``doctor`` and ``models tiny | init`` (heavy imports happen inside the handlers)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tempoforge.cli_parts import add_command

__all__ = ["register"]


def _predict(args: argparse.Namespace) -> int:
    from tempoforge.config import load_config
    from tempoforge.models.config import PredictConfig
    from tempoforge.models.predict import predict

    cfg = load_config(PredictConfig, args.config, args)
    n = predict(cfg, quiet=args.quiet)
    if not args.quiet:
        print(f"wrote {n} new predictions to {cfg.out}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from tempoforge.models.config import STRATEGY_NAMES
    from tempoforge.models.doctor import format_report, run_doctor

    strategies = [args.timestamps] if args.timestamps else list(STRATEGY_NAMES)
    checks = run_doctor(args.model, args.video, args.fps, args.max_frames, strategies)
    print(format_report(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


def _tiny(args: argparse.Namespace) -> int:
    from tempoforge.models.tiny import build_tiny

    lm = build_tiny(args.family, args.out, seed=args.seed)
    n = sum(p.numel() for p in lm.model.parameters())
    if not args.quiet:
        print(f"wrote a random tiny {args.family} ({n / 1e6:.2f}M parameters) to {args.out}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from tempoforge.models.real import get_arch, init_real

    arch = get_arch(args.family, args.size)  # a bad family / size fails before anything is built
    lm = init_real(args.family, args.size, args.out, layers=args.layers, vision_layers=args.vision_layers,
                   dtype=args.dtype, seed=args.seed)
    n = sum(p.numel() for p in lm.model.parameters())
    if not args.quiet:
        cut = "" if args.layers is None else f", cut to {args.layers} layers"
        print(f"wrote a random-initialised {arch.name} architecture ({n / 1e9:.2f}B parameters{cut}, {args.dtype}) "
              f"to {args.out}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    from tempoforge.config import add_dataclass_arguments
    from tempoforge.models.config import PredictConfig
    from tempoforge.presets import add_config_argument

    add_config_argument(p, "models", "PredictConfig")
    add_dataclass_arguments(p, PredictConfig)


def _doctor_arguments(d: argparse.ArgumentParser) -> None:
    from tempoforge.models.config import STRATEGY_NAMES
    from tempoforge.models.video import MAX_FRAMES

    d.add_argument("--model", type=Path, default=None, help="local checkpoint directory to inspect")
    d.add_argument("--video", type=Path, default=None, help="a video to decode and feed to the model")
    d.add_argument("--fps", type=float, default=1.0, help="frames per second to sample (default: 1)")
    d.add_argument("--max-frames", type=int, default=MAX_FRAMES, help=f"frame cap (default: {MAX_FRAMES})")
    d.add_argument("--timestamps", choices=list(STRATEGY_NAMES), default=None,
                   help="only this timestamp strategy (default: all)")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "predict", _predict_arguments,
        help="generate answers for a benchmark file (resumable) -> predictions.jsonl",
        description="Batched generation with a local Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint over a JSONL of "
        "GroundingSample or DenseCaptionSample records. Each video is sampled at --fps (spread over the whole "
        "video when --max-frames caps it), shown to the model with the chosen timestamp strategy, and every "
        "answer is appended to --out as a self-contained Prediction line that `tempoforge eval score` reads. "
        "Ids already in --out are skipped, so an interrupted run resumes where it stopped.",
    )
    p.set_defaults(func=_predict)

    d = add_command(
        sub, "doctor", _doctor_arguments,
        help="check the environment, a video, and the temporal positions a model assigns",
        description="Checks torch / transformers / TRL / PEFT / PyAV, torchvision (optional) and Java (METEOR). "
        "With --video: decodes it and reports the actual sampled frame times and whether they reach the end. "
        "With --model: prints the temporal position each frame group gets under every timestamp strategy and "
        "flags collapsed positions (fps above the M-RoPE resolution), the transformers get_rope_index "
        "text-after-video overlap, and the silent 2 fps assumption without second_per_grid_ts. "
        "Exit code 1 when a check fails.",
    )
    d.set_defaults(func=_doctor)

    m = sub.add_parser("models", help="model utilities (tiny and real-architecture offline checkpoints)",
                       description="Model utilities that need no download.")
    msub = m.add_subparsers(dest="models_command", metavar="COMMAND", title="commands", required=True)
    t = msub.add_parser(
        "tiny", help="write a random-initialised tiny checkpoint (for CPU tests and demos)",
        description="Builds a tiny random Qwen2-VL / Qwen2.5-VL / Qwen3-VL (about 0.2M parameters) with a byte-level "
        "BPE tokenizer trained in code, the Qwen chat template and preprocessing configs, entirely offline, and "
        "saves it in the stock checkpoint layout, loadable by `tempoforge predict --model`.",
    )
    t.add_argument("--family", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"], default="qwen2_5_vl",
                   help="model family (default: qwen2_5_vl)")
    t.add_argument("--out", type=Path, required=True, help="checkpoint directory to write")
    t.add_argument("--seed", type=int, default=0, help="initialisation seed (default: 0)")
    t.set_defaults(func=_tiny)

    i = msub.add_parser(
        "init", help="write a random-initialised checkpoint with a real model's published architecture",
        description="Builds the published architecture of a real checkpoint (Qwen2-VL-2B/7B, Qwen2.5-VL-3B/7B, "
        "Qwen3-VL-2B/8B): hidden sizes, heads, vision tower, M-RoPE sections, special-token ids, chat template and "
        "processor configs, with random weights, entirely offline, and saves it in the stock layout. --layers cuts "
        "the language model (and, unless --vision-layers says otherwise, the vision tower) to fewer layers with "
        "the same widths: the real training path on a laptop. The tokenizer is built offline: its special tokens "
        "have the published ids, its regular tokens are a small BPE (see the README).",
    )
    i.add_argument("--family", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"], default="qwen2_5_vl",
                   help="model family (default: qwen2_5_vl)")
    i.add_argument("--size", required=True, help="qwen2_vl: 2b, 7b; qwen2_5_vl: 3b, 7b; qwen3_vl: 2b, 8b")
    i.add_argument("--out", type=Path, required=True, help="checkpoint directory to write")
    i.add_argument("--layers", type=_positive, default=None, help="decoder layers to keep (default: all)")
    i.add_argument("--vision-layers", type=_positive, default=None,
                   help="vision blocks to keep (default: --layers, or all)")
    i.add_argument("--dtype", choices=["bfloat16", "float32", "float16"], default="bfloat16",
                   help="weight dtype (default: bfloat16, as published)")
    i.add_argument("--seed", type=int, default=0, help="initialisation seed (default: 0)")
    i.set_defaults(func=_init)

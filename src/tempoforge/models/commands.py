"""``tempoforge predict`` and ``tempoforge doctor`` (heavy imports happen inside the handlers)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tempoforge.config import add_dataclass_arguments, load_config
from tempoforge.models.config import STRATEGY_NAMES, PredictConfig
from tempoforge.presets import add_config_argument

__all__ = ["register"]


def _predict(args: argparse.Namespace) -> int:
    from tempoforge.models.predict import predict

    cfg = load_config(PredictConfig, args.config, args)
    n = predict(cfg, quiet=args.quiet)
    if not args.quiet:
        print(f"wrote {n} new predictions to {cfg.out}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="generate answers for a benchmark file (resumable) -> predictions.jsonl",
        description="Batched generation with a local Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoint over a JSONL of "
        "GroundingSample or DenseCaptionSample records. Each video is sampled at --fps (spread over the whole "
        "video when --max-frames caps it), shown to the model with the chosen timestamp strategy, and every "
        "answer is appended to --out as a self-contained Prediction line that `tempoforge eval score` reads. "
        "Ids already in --out are skipped, so an interrupted run resumes where it stopped.",
    )
    add_config_argument(p, "models", "PredictConfig")
    add_dataclass_arguments(p, PredictConfig)
    p.set_defaults(func=_predict)

    d = sub.add_parser(
        "doctor", help="check the environment, a video, and the temporal positions a model assigns",
        description="Checks torch / transformers / TRL / PEFT / PyAV, torchvision (optional) and Java (METEOR). "
        "With --video: decodes it and reports the actual sampled frame times and whether they reach the end. "
        "With --model: prints the temporal position each frame group gets under every timestamp strategy and "
        "flags collapsed positions (fps above the M-RoPE resolution), the transformers get_rope_index "
        "text-after-video overlap, and the silent 2 fps assumption without second_per_grid_ts. "
        "Exit code 1 when a check fails.",
    )
    d.add_argument("--model", type=Path, default=None, help="local checkpoint directory to inspect")
    d.add_argument("--video", type=Path, default=None, help="a video to decode and feed to the model")
    d.add_argument("--fps", type=float, default=1.0, help="frames per second to sample (default: 1)")
    d.add_argument("--max-frames", type=int, default=64, help="frame cap (default: 64)")
    d.add_argument("--timestamps", choices=list(STRATEGY_NAMES), default=None,
                   help="only this timestamp strategy (default: all)")
    d.set_defaults(func=_doctor)

    m = sub.add_parser("models", help="model utilities (tiny offline checkpoints)",
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

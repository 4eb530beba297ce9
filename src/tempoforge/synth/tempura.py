"""CLI: ``tempoforge synth tempura --in DIR --teacher oracle|openai|hf --out DIR`` (TEMPURA's VER data).

The pipeline itself is :mod:`tempoforge.synth.ver`; teachers are :mod:`tempoforge.synth.teachers`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from tempoforge.config import add_dataclass_arguments, load_config, read_yaml

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "config_from_args", "main"]

HELP = "TEMPURA VER data: teacher event segmentation, masked-event and dense-captioning samples"
DESCRIPTION = """\
Build TEMPURA's training data from a TempoWorld folder or a curated folder:
static filter -> categorisation -> event segmentation from time-marked 1 fps frame grids -> validation
(no overlap, full coverage, inside the duration; small slips repaired) -> coherence check -> masked
event prediction. Writes OUT/samples.jsonl (stage 1 'masked' + stage 2 'dense' SFT samples),
OUT/dense.jsonl, OUT/rejected.jsonl (with reasons) and OUT/stats.json (rejections per step).
Resumable: rerun the same command to finish an interrupted run.

Teachers: oracle (TempoWorld ground truth), openai (any OpenAI-compatible chat API with images:
--base-url, --model, --api-key-env NAME_OF_ENV_VAR; replies cached in OUT/teacher_cache), hf (a local
checkpoint folder given as --model).

examples:
  tempoforge synth tempura --in out/tw --teacher oracle --out out/tempura
  OPENAI_API_KEY=... tempoforge synth tempura --in out/curated --teacher openai \\
      --base-url https://api.openai.com/v1 --model gpt-4o --api-key-env OPENAI_API_KEY --out out/ver
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tempoforge.synth.teachers.base import TeacherSettings
    from tempoforge.synth.ver import TempuraSynthConfig

    parser.add_argument("--config", type=Path, default=None, help="YAML preset (keys: the options below; "
                        "'teacher:' a mapping of teacher options)")
    parser.add_argument("--in", dest="input", type=Path, default=None,
                        help="TempoWorld folder (world.json) or curated folder (kept.jsonl)")
    parser.add_argument("--teacher", dest="backend", choices=["oracle", "openai", "hf"], default=None,
                        help="teacher backend (default: oracle)")
    add_dataclass_arguments(parser, TempuraSynthConfig, skip=("input", "teacher"))
    add_dataclass_arguments(parser, TeacherSettings, skip=("backend",))


def config_from_args(args: argparse.Namespace) -> Any:
    """Defaults < YAML preset (``teacher:`` a nested mapping) < flags, as a ``TempuraSynthConfig``."""
    from tempoforge.synth.teachers.base import TeacherSettings
    from tempoforge.synth.ver import TempuraSynthConfig

    preset = read_yaml(args.config) if args.config is not None else {}
    teacher_yaml = preset.pop("teacher", None) or {}
    if not isinstance(teacher_yaml, dict):
        from tempoforge.config import ConfigError

        raise ConfigError(f"{args.config}: 'teacher' must be a mapping of teacher options")
    if args.backend is not None:
        teacher_yaml["backend"] = args.backend
    teacher = load_config(TeacherSettings, None, args, overrides=teacher_yaml)
    return load_config(TempuraSynthConfig, None, args, overrides={**preset, "teacher": teacher})


def main(args: argparse.Namespace) -> int:
    import json

    from tempoforge.synth.ver import run_ver

    cfg = config_from_args(args)
    if not args.quiet:
        logging.basicConfig(level=logging.WARNING)
    stats = run_ver(cfg, progress=not args.quiet)
    print(json.dumps({"out": str(cfg.out), "videos": stats["videos"], "kept": stats["kept"],
                      "samples": stats["samples"]}))
    return 0

"""D2VLM factorized preference pairs: ``tempoforge synth fpo --in dense.jsonl --out pairs.jsonl``.

For every dense-caption video, the chosen response is its events in D2VLM's evidence format
(``render_response(events, "d2vlm")``: ``<evi><evi></evi> <evi> text. <evi> text.``) and each rejected
response changes exactly one factor (``synth/factorized.py``, METHODS.md 3.4): grounding — ``shift``,
``insert``, ``delete``, ``merge``; text — ``tamper``, ``repeat``. Each pair records its factor and both
responses' spans (``chosen_spans`` / ``rejected_spans``), which FPO needs for the grounding term.

The prompt is the dense-captioning instruction (``models/prompts.py``), the one the SFT stage trains on.
Videos are stored as absolute paths (resolved against the input file's folder). Output is appended
crash-safely; a rerun skips the videos already in ``--out``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tempoforge.presets import for_users
from tempoforge.records import DenseCaptionSample, PreferencePair

__all__ = ["FPOSynthConfig", "fpo_pairs"]

HELP = "D2VLM factorized preference pairs (shift / insert / delete / merge / tamper / repeat negatives)"
DESCRIPTION = for_users(__doc__ or "")


@dataclass
class FPOSynthConfig:
    """Which factors, which seed (METHODS.md 3.4)."""

    factors: list[str] = field(default_factory=lambda: ["shift", "insert", "delete", "merge", "tamper", "repeat"],
                               metadata={"help": "factors to perturb, one negative per factor and video"})
    seed: int = field(default=0, metadata={"help": "seed of every perturbation (with the video id and factor)"})
    duration_in_prompt: bool = field(default=False, metadata={"help": "prefix the prompt with the duration"})


def fpo_pairs(sample: DenseCaptionSample, config: FPOSynthConfig, video: str | None = None) -> list[PreferencePair]:
    """The pairs of one video (factors that cannot apply, e.g. ``delete`` on one event, are skipped)."""
    from tempoforge.models.prompts import dense_captioning_prompt
    from tempoforge.synth.factorized import factorized_pairs

    prompt = dense_captioning_prompt(sample.duration if config.duration_in_prompt else None)
    s = sample if video is None else sample.model_copy(update={"video": video})
    return factorized_pairs(s, prompt=prompt, factors=config.factors, seed=config.seed, style="d2vlm")


def _done(out: Path) -> set[str]:
    from tempoforge.io.jsonl import read_jsonl

    if not out.exists():
        return set()
    return {p.id.split("/")[0] for p in read_jsonl(out, PreferencePair)}


def _check_factors(factors: Sequence[str]) -> None:
    from tempoforge.errors import UserError
    from tempoforge.synth.factorized import FACTORS

    bad = [f for f in factors if f not in FACTORS]
    if bad:
        raise UserError(f"unknown factor(s) {bad}; known: {', '.join(FACTORS)}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tempoforge.config import add_dataclass_arguments

    p.add_argument("--in", dest="inp", required=True, help="dense-caption JSONL (DenseCaptionSample), e.g. a "
                   "TempoWorld folder's annotations/dense.jsonl; videos resolve relative to its folder")
    p.add_argument("--out", required=True, help="output pairs JSONL (appended; rerun to resume)")
    p.add_argument("--limit", type=int, default=None, help="only the first N videos")
    add_dataclass_arguments(p, FPOSynthConfig)


def main(args: argparse.Namespace) -> int:
    from collections import Counter

    from tqdm import tqdm

    from tempoforge.config import load_config
    from tempoforge.io.jsonl import append_jsonl, read_jsonl

    cfg = load_config(FPOSynthConfig, None, args)
    _check_factors(cfg.factors)
    src = Path(args.inp)
    samples = list(read_jsonl(src, DenseCaptionSample))[: args.limit]
    out = Path(args.out)
    done = _done(out)
    counts: Counter[str] = Counter()
    videos = 0
    for s in tqdm(samples, desc="fpo pairs", disable=getattr(args, "quiet", False)):
        if s.id in done:
            continue
        video = s.video if Path(s.video).is_absolute() else str((src.parent / s.video).resolve())
        pairs = fpo_pairs(s, cfg, video)
        append_jsonl(out, pairs)
        counts.update(p.factor or "" for p in pairs)
        videos += 1
    per = ", ".join(f"{f} {counts[f]}" for f in cfg.factors)
    print(f"{sum(counts.values())} pairs from {videos} videos ({per}) -> {out}")
    return 0

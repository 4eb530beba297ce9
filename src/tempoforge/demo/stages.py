"""The demo's stages, each ``stage(ctx) -> summary dict``, writing under ``ctx.out / <stage>``.

world -> curate -> base (a tiny model trained from scratch on grounding + chronological captions) -> eval
before -> TEMPLE (perturbation pairs on fresh videos, DPO r = 16 -> 8 -> 4 -> 2, SFT) -> eval after -> report.
Every piece is the TEMPLE study's (``study/temple.py``), at its ``quick`` sizes: the demo is the study's
method arm for one seed, with the figures a newcomer wants to see.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.demo.config import DemoConfig

__all__ = ["STAGES", "DemoContext", "summarise_scores"]

log = logging.getLogger(__name__)


@dataclass
class DemoContext:
    """Where the demo writes, its sizes, and what earlier stages produced."""

    out: Path
    config: DemoConfig
    quiet: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    def dir(self, name: str) -> Path:
        d = self.out / name
        d.mkdir(parents=True, exist_ok=True)
        return d


def stage_world(ctx: DemoContext) -> dict[str, Any]:
    """TempoWorld train and held-out sets (every video with its time-reversed twin), exact ground truth."""
    from tempoforge.study.temple import generate_worlds

    p = ctx.config.temple_preset()
    train, held = generate_worlds(p, ctx.config.seed, ctx.dir("world"), quiet=ctx.quiet)
    return {"train": str(train), "heldout": str(held), "train_videos": p.base_videos + p.temple_videos,
            "base_videos": p.base_videos, "temple_videos": p.temple_videos, "heldout_videos": p.heldout_videos}


def stage_curate(ctx: DemoContext) -> dict[str, Any]:
    """Curate a few training videos (static filter, shots, adaptive frames, time-marked frame grids)."""
    from tempoforge.demo.curate import curate_videos

    videos = sorted((Path(ctx.results["world"]["train"]) / "videos").glob("*.mp4"))[: ctx.config.curate_videos]
    return curate_videos(videos, ctx.dir("curate"), quiet=ctx.quiet)


def _in_base(ctx: DemoContext) -> Any:
    from tempoforge.study.temple import video_index

    n = ctx.config.temple_preset().base_videos
    return lambda vid: video_index(vid) < n


def stage_base(ctx: DemoContext) -> dict[str, Any]:
    """Train a tiny model from scratch on the first part of the training world (full fine-tune, past its
    learning plateau)."""
    from tempoforge.study.temple import supervised_items, train_base

    cfg, p = ctx.config, ctx.config.temple_preset()
    ann = Path(ctx.results["world"]["train"]) / "annotations"
    items = supervised_items(ann, p.clips, cfg.seed, keep=_in_base(ctx))
    model = train_base(items, p, cfg.seed, ctx.dir("base"), family=cfg.family)
    done = json.loads((Path(model) / "tempoforge_stage_done.json").read_text())
    return {"model": model, "items": len(items), "loss": done["loss"]}


def summarise_scores(scores: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each metric's value, 95 % bootstrap interval over held-out videos and (given the starting model's
    scores) the paired difference to it with its interval."""
    from tempoforge.study.stats import bootstrap_difference, bootstrap_interval, mean_score

    out: dict[str, Any] = {}
    for metric, groups in scores.items():
        lo, hi = bootstrap_interval([groups])
        row: dict[str, Any] = {"value": mean_score(groups), "interval": [lo, hi]}
        if base is not None:
            d, dlo, dhi = bootstrap_difference([groups], [base[metric]])
            row["difference"] = [d, dlo, dhi]
        out[metric] = row
    return out


def evaluate(ctx: DemoContext, tag: str, model_dir: str) -> dict[str, Any]:
    """The study's held-out evaluation: the balanced arrow-of-time probe and grounding, real and grey frames."""
    from tempoforge.eval.score import score_grounding_file
    from tempoforge.study.temple import evaluate_temple

    out = ctx.dir(f"eval_{tag}")
    scores = evaluate_temple(model_dir, Path(ctx.results["world"]["heldout"]), ctx.config.temple_preset(), out)
    (out / "scores.json").write_text(json.dumps(scores))
    before = ctx.results.get("eval_before", {}).get("scores") if tag != "before" else None
    metrics = summarise_scores(scores, before)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    rows = score_grounding_file(out / "grounding.jsonl", "etchat").details["rows"]
    return {"metrics": metrics, "scores": scores, "rows": rows, "predictions": str(out / "grounding.jsonl")}


def stage_eval_before(ctx: DemoContext) -> dict[str, Any]:
    """Evaluate the starting model."""
    return evaluate(ctx, "before", ctx.results["base"]["model"])


def stage_temple(ctx: DemoContext) -> dict[str, Any]:
    """TEMPLE on fresh training videos: perturbation pairs (drop / shuffle / reverse / mirror x r), DPO
    curriculum r = 16 -> 8 -> 4 -> 2 with a fresh LoRA merged after each stage, then SFT."""
    import torch

    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import PreferencePair
    from tempoforge.study.temple import Prepared, arm_config, make_pairs, supervised_items, write_sft_file
    from tempoforge.train.recipes.temple import run_temple

    cfg, p = ctx.config, ctx.config.temple_preset()
    out = ctx.dir("temple")
    ann = Path(ctx.results["world"]["train"]) / "annotations"
    in_base = _in_base(ctx)
    pairs = make_pairs(ann, p, cfg.seed, out, keep=lambda v: not in_base(v))
    sft = write_sft_file(out / "sft.jsonl",
                         lambda: supervised_items(ann, p.clips, cfg.seed, keep=lambda v: not in_base(v)))
    prepared = Prepared(cfg.seed, Path(ctx.results["world"]["train"]), Path(ctx.results["world"]["heldout"]),
                        ctx.results["base"]["model"], pairs, sft)
    torch.manual_seed(cfg.seed)
    result = run_temple(arm_config("progressive", p, prepared, pairs, out / "run"))
    kinds: dict[str, int] = {}
    for q in read_jsonl(pairs, PreferencePair):
        kinds[f"{q.kind} r{q.r}"] = kinds.get(f"{q.kind} r{q.r}", 0) + 1
    return {"pairs": sum(kinds.values()), "pairs_by_kind": kinds, "stages": result["stages"],
            "curves": result["curves"], "model": result["final"]}


def stage_eval_after(ctx: DemoContext) -> dict[str, Any]:
    """Evaluate the model after TEMPLE (paired with the starting model on the same held-out videos)."""
    return evaluate(ctx, "after", ctx.results["temple"]["model"])


def stage_report(ctx: DemoContext) -> dict[str, Any]:
    """Write report.html with the pipeline's figures."""
    from tempoforge.demo.report import write_demo_report

    path = write_demo_report(ctx)
    return {"report": str(path)}


STAGES = [
    ("world", stage_world),
    ("curate", stage_curate),
    ("base", stage_base),
    ("eval_before", stage_eval_before),
    ("temple", stage_temple),
    ("eval_after", stage_eval_after),
    ("report", stage_report),
]

"""The demo's stages, each ``stage(ctx) -> summary dict``, writing under ``ctx.out / <stage>``.

world -> curate -> base (SFT a tiny model on grounding + chronological captions) -> eval before ->
TEMPLE (perturbation pairs, DPO curriculum r = 16 -> 8 -> 4 -> 2, SFT) -> eval after -> report.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.demo.config import DemoConfig

__all__ = ["STAGES", "DemoContext"]

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


def _world_config(cfg: DemoConfig) -> Any:
    from tempoforge.world import preset_config

    # one object per video and few events: the query-conditional skill stays learnable in minutes (DESIGN.md)
    return preset_config("tiny", max_objects=1, min_events=2, max_events=3, min_duration=8.0, max_duration=12.0,
                         workers=2)


def stage_world(ctx: DemoContext) -> dict[str, Any]:
    """TempoWorld train and held-out sets with exact ground truth, in the official formats."""
    from tempoforge.world import generate_world

    cfg = ctx.config
    root = ctx.dir("world")
    train = generate_world(root / "train", cfg.train_videos, seed=cfg.seed, config=_world_config(cfg),
                           progress=not ctx.quiet)
    held = generate_world(root / "heldout", cfg.heldout_videos, seed=cfg.seed + 1000, config=_world_config(cfg),
                          progress=not ctx.quiet)
    return {"train": str(train.root), "heldout": str(held.root), "train_videos": len(train.scripts),
            "heldout_videos": len(held.scripts)}


def stage_curate(ctx: DemoContext) -> dict[str, Any]:
    """Curate a few training videos (static filter, shots, adaptive frames, time-marked frame grids)."""
    import importlib.util

    if importlib.util.find_spec("tempoforge.demo.curate") is None:
        return {"skipped": "curation is not part of this build yet"}
    from tempoforge.demo.curate import curate_videos

    videos = sorted((Path(ctx.results["world"]["train"]) / "videos").glob("*.mp4"))[: ctx.config.curate_videos]
    return curate_videos(videos, ctx.dir("curate"), quiet=ctx.quiet)


def _caption_answer(sample: Any) -> str:
    from tempoforge.synth.temple import aggregate_captions, clip_spans, oracle_clip_captions

    return aggregate_captions(oracle_clip_captions(sample, clip_spans(sample.duration, 8)))


def base_items(annotations: Path, seed: int) -> list[Any]:
    """SFT items: every grounding query (answer "From X to Y seconds.") and one chronological caption per video."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.prompts import grounding_prompt
    from tempoforge.records import DenseCaptionSample, GroundingSample
    from tempoforge.synth.perturb import perturbation_rng
    from tempoforge.synth.temple import CAPTION_PROMPTS
    from tempoforge.train.data import SFTItem, resolve_video

    items = []
    for g in read_jsonl(annotations / "grounding.jsonl", GroundingSample):
        s = g.spans[0]
        items.append(SFTItem(g.id, resolve_video(g.video, annotations), grounding_prompt(g.query),
                             f"From {s.start:.1f} to {s.end:.1f} seconds."))
    for d in read_jsonl(annotations / "dense.jsonl", DenseCaptionSample):
        k = int(perturbation_rng(d.id, "prompt", 0, seed).integers(len(CAPTION_PROMPTS)))
        items.append(SFTItem(f"{d.id}_cap", resolve_video(d.video, annotations), CAPTION_PROMPTS[k], _caption_answer(d)))
    return items


def _video(cfg: DemoConfig) -> Any:
    from tempoforge.train.data import VideoSettings

    return VideoSettings(fps=cfg.fps, max_frames=cfg.max_frames, strategy="mrope")


def stage_base(ctx: DemoContext) -> dict[str, Any]:
    """Train a tiny Qwen2.5-VL from scratch on the training world (full fine-tune, step-based schedule)."""
    from tempoforge.models.tiny import build_tiny
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.checkpoint import save_checkpoint
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.sft import SFTSettings, run_sft

    cfg = ctx.config
    out = ctx.dir("base")
    items = base_items(Path(ctx.results["world"]["train"]) / "annotations", cfg.seed)
    lm = build_tiny(cfg.family, seed=cfg.seed)
    settings = SFTSettings(optim=OptimSettings(learning_rate=cfg.base_lr, max_steps=cfg.base_steps,
                                               batch_size=cfg.base_batch, warmup_ratio=0.02, seed=cfg.seed),
                           lora=LoraSettings(enabled=False, train_vision=True), video=_video(cfg))
    res = run_sft(lm, items, settings, out / "trainer")
    lm.model = res.model
    save_checkpoint(lm, out / "model")
    return {"model": str(out / "model"), "items": len(items), "loss": res.losses}


def heldout_pairs(ctx: DemoContext) -> list[Any]:
    """TEMPLE pairs (reverse and shuffle) on held-out videos: the temporal probe."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.temple import TempleSynthConfig, clip_spans, oracle_clip_captions, temple_pairs
    from tempoforge.train.data import resolve_video

    ann = Path(ctx.results["world"]["heldout"]) / "annotations"
    syn = TempleSynthConfig(kinds=["reverse", "shuffle"], r=[2, 4], clips=8, seed=ctx.config.seed, captioner="oracle")
    pairs: list[Any] = []
    for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample):
        caps = oracle_clip_captions(d, clip_spans(d.duration, syn.clips))
        pairs += temple_pairs(d, caps, syn, video=resolve_video(d.video, ann))[0]
    return pairs[: ctx.config.eval_pairs]


def evaluate(ctx: DemoContext, tag: str, model_dir: str) -> dict[str, Any]:
    """Grounding on held-out queries (predict + score under etchat and strict) and the order-preference probe."""
    from tempoforge.eval.score import score_grounding_file
    from tempoforge.models.config import PredictConfig
    from tempoforge.models.load import load
    from tempoforge.models.predict import predict
    from tempoforge.train.dpo import preference_accuracy

    cfg = ctx.config
    out = ctx.dir(f"eval_{tag}")
    lm = load(model_dir)
    preds = out / "predictions.jsonl"
    ann = Path(ctx.results["world"]["heldout"]) / "annotations"
    predict(PredictConfig(model=Path(model_dir), benchmark="grounding", data=ann / "grounding.jsonl", out=preds,
                          limit=cfg.eval_queries, batch_size=8, fps=cfg.fps, max_frames=cfg.max_frames,
                          max_new_tokens=24), lm=lm, quiet=True)
    etchat = score_grounding_file(preds, "etchat")
    strict = score_grounding_file(preds, "strict")
    pref = preference_accuracy(lm, heldout_pairs(ctx), _video(cfg))
    result = {"etchat": etchat.metrics, "strict": strict.metrics, "preference": pref,
              "rows": etchat.details["rows"], "predictions": str(preds)}
    (out / "metrics.json").write_text(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
    return result


def stage_eval_before(ctx: DemoContext) -> dict[str, Any]:
    """Evaluate the base model."""
    return evaluate(ctx, "before", ctx.results["base"]["model"])


def stage_temple(ctx: DemoContext) -> dict[str, Any]:
    """TEMPLE: oracle-captioned perturbation pairs on the training world, DPO curriculum, then SFT."""
    import argparse

    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import PreferencePair
    from tempoforge.synth import temple as synth_temple
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.dpo import DPOSettings
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.recipes.temple import TempleConfig, run_temple
    from tempoforge.train.sft import SFTSettings

    cfg = ctx.config
    out = ctx.dir("temple")
    pairs_path = out / "pairs.jsonl"
    args = argparse.Namespace(inp=str(Path(ctx.results["world"]["train"]) / "annotations" / "dense.jsonl"),
                              out=str(pairs_path), model=None, ms_swift=str(out / "pairs_ms_swift.jsonl"),
                              limit=None, quiet=True, kinds=None, r=None, clips=8, seed=cfg.seed, captioner="oracle")
    synth_temple.main(args)
    n_pairs = len(list(read_jsonl(pairs_path, PreferencePair)))
    dpo_opt = OptimSettings(learning_rate=cfg.dpo_lr, max_steps=cfg.stage_steps, batch_size=cfg.stage_batch,
                            warmup_ratio=0.0, seed=cfg.seed)
    sft_opt = OptimSettings(learning_rate=cfg.dpo_lr, max_steps=cfg.sft_steps, batch_size=cfg.stage_batch,
                            warmup_ratio=0.0, seed=cfg.seed)
    tcfg = TempleConfig(model=ctx.results["base"]["model"], pairs=str(pairs_path), out=str(out / "run"),
                        seed=cfg.seed,
                        dpo=DPOSettings(beta=0.1, optim=dpo_opt, lora=LoraSettings(r=8, alpha=16, dropout=0.0),
                                        video=_video(cfg)),
                        sft=SFTSettings(optim=sft_opt, lora=LoraSettings(r=8, alpha=8, train_vision=True),
                                        video=_video(cfg)))
    result = run_temple(tcfg)
    return {"pairs": n_pairs, "stages": result["stages"], "curves": result["curves"], "model": result["final"]}


def stage_eval_after(ctx: DemoContext) -> dict[str, Any]:
    """Evaluate the model after TEMPLE."""
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

"""TEMPURA: masked event prediction (stage 1), then dense event segmentation and captioning (stage 2).

METHODS.md 2.2-2.4. The data is ``samples.jsonl`` from ``tempoforge synth tempura`` (``task: masked`` for
stage 1, ``task: dense`` for stage 2). The model sees the frames at 1 fps as separate images with the
visual timestamp overlay (``video.timestamps: overlay``); in stage 1 the frames of the masked span are black
without a timestamp (``build_example(masked_spans=...)``). ``time_instruction`` prepends the optional
"You are given a video sampled at ..." sentence with the actual frame times.

Orders: ``s1-s2`` (TEMPURA), ``s2-only`` and ``s2-s1`` (the paper's Table 3 ablations). Each stage starts
from the previous one (LoRA merged), saves a checkpoint in the stock layout and a done-marker, so a killed
run resumes at the first unfinished stage. Full fine-tune (``lora.enabled: false``, the paper) or LoRA.
Deviation: the paper trains one epoch per stage on 500K videos; the tiny preset counts steps.

    tempoforge train tempura --config configs/train/tempura_tiny.yaml [--data samples.jsonl] [--order s2-only]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempoforge.models.video import VideoSettings
from tempoforge.presets import for_users
from tempoforge.train.lora import LoraSettings
from tempoforge.train.recipes import recipe_ending
from tempoforge.train.settings import OptimSettings, SFTSettings

if TYPE_CHECKING:
    from tempoforge.train.data import SFTItem

__all__ = ["ORDERS", "TempuraConfig", "run_tempura", "stage_items"]

HELP = "TEMPURA: masked event prediction (S1) then dense event segmentation + captioning (S2)"
DESCRIPTION = for_users(__doc__ or "")
log = logging.getLogger(__name__)

ORDERS: dict[str, tuple[str, ...]] = {"s1-s2": ("masked", "dense"), "s2-only": ("dense",), "s2-s1": ("dense", "masked")}


def _stage_default() -> SFTSettings:
    """The paper's full fine-tune: LLM + merger at 1e-5, vision at 2e-6, wd 0.1, warmup 3 %, cosine."""
    return SFTSettings(optim=OptimSettings(learning_rate=1e-5, weight_decay=0.1, warmup_ratio=0.03, scheduler="cosine"),
                       lora=LoraSettings(enabled=False, train_vision=True),
                       video=VideoSettings(fps=1.0, max_frames=256, timestamps="overlay"), vision_learning_rate=2e-6)


@dataclass
class TempuraConfig:
    """A TEMPURA run: model, data, stage order and each stage's settings."""

    model: str = field(default="tiny:qwen2_5_vl", metadata={"help": "model directory or tiny:<model_type>"})
    data: str = field(default="samples.jsonl", metadata={"help": "samples from `tempoforge synth tempura`"})
    out: str = field(default="runs/tempura", metadata={"help": "output folder (one subfolder per stage)"})
    order: str = field(default="s1-s2", metadata={"choices": ("s1-s2", "s2-only", "s2-s1"),
                                                  "help": "s1-s2 (TEMPURA), s2-only or s2-s1 (ablations)"})
    time_instruction: bool = field(default=False, metadata={"help": "prepend TEMPURA's time instruction to prompts"})
    seed: int = field(default=0, metadata={"help": "random seed (tiny model init, data order)"})
    limit: int | None = field(default=None, metadata={"help": "use at most this many samples per stage"})
    masked: SFTSettings = field(default_factory=_stage_default)
    dense: SFTSettings = field(default_factory=_stage_default)

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}")


def stage_items(data: Path, task: str, video: VideoSettings, *, time_instruction: bool = False,
                limit: int | None = None) -> list[SFTItem]:
    """The ``task`` samples of ``data`` as ``SFTItem``s (masked spans carried; time instruction optional)."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.prompts import time_instruction as time_text
    from tempoforge.models.video import load_frames, resolve_video
    from tempoforge.synth.tempura_samples import TempuraSample
    from tempoforge.train.data import SFTItem

    items = []
    for s in read_jsonl(data, TempuraSample):
        if s.task != task:
            continue
        path = resolve_video(s.video, data.parent)
        prompt = s.prompt
        if time_instruction:
            times = load_frames(path, video).times.tolist()
            prompt = time_text(_rate(times, video.fps), times, s.duration) + " " + prompt
        masked = ((s.mask.start, s.mask.end),) if s.mask is not None else ()
        items.append(SFTItem(s.id, path, prompt, s.answer, masked=masked))
        if limit is not None and len(items) >= limit:
            break
    return items


def _rate(times: list[float], fps: float) -> float:
    """The sampling rate the frames really have: ``fps``, unless a frame cap spread them out."""
    if len(times) < 2:
        return fps
    rate = (len(times) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else fps
    return fps if abs(rate - fps) <= 0.05 * fps else round(rate, 2)


def run_tempura(cfg: TempuraConfig, lm: Any = None) -> dict[str, Any]:
    """Run the stages of ``cfg.order``; returns per-stage loss curves and the final checkpoint path."""
    from tempoforge.train.checkpoint import is_done, mark_done, resolve_model, save_checkpoint
    from tempoforge.train.sft import run_sft

    out, data = Path(cfg.out), Path(cfg.data)
    if not data.is_file():
        from tempoforge.errors import UserError

        raise UserError(f"data file not found: {data} (make it with `tempoforge synth tempura`)")
    stages = ORDERS[cfg.order]
    lm = lm if lm is not None else resolve_model(cfg.model, seed=cfg.seed)
    curves: dict[str, Any] = {}
    for k, task in enumerate(stages):
        name = f"stage{k + 1}_{task}"
        stage_dir = out / name
        if is_done(stage_dir):
            log.info("stage %s already done: loading %s", name, stage_dir)
            lm = resolve_model(str(stage_dir))
            continue
        settings: SFTSettings = getattr(cfg, task)
        settings.optim.seed = cfg.seed
        items = stage_items(data, task, settings.video, time_instruction=cfg.time_instruction, limit=cfg.limit)
        if not items:
            raise ValueError(f"{data}: no '{task}' samples for stage {name}")
        log.info("stage %s: %d %s samples", name, len(items), task)
        res = run_sft(lm, items, settings, stage_dir / "trainer")
        lm.model = res.model
        curves[name] = {"loss": res.losses, "items": len(items)}
        save_checkpoint(lm, stage_dir)
        mark_done(stage_dir, stage=name, task=task, **curves[name])
    final = out / f"stage{len(stages)}_{stages[-1]}"
    return {"order": cfg.order, "stages": [f"stage{k + 1}_{t}" for k, t in enumerate(stages)], "curves": curves,
            "final": str(final), "lm": lm}


add_arguments, main = recipe_ending(TempuraConfig, "tempura_", lambda cfg, args: run_tempura(cfg),
                                    summary=("order", "stages", "final"))

"""TEMPLE: progressive DPO (r = 16 -> 8 -> 4 -> 2) before SFT ("Pre-SFT alignment", METHODS.md 1.4).

Each DPO stage trains a fresh LoRA on the pairs of one difficulty r, starting from the previous stage with
its LoRA merged into the weights; then SFT. Every stage saves a merged checkpoint and a done-marker, so a
killed run resumes at the first unfinished stage. Ablations: ``schedule: single`` (one DPO stage on all
pairs) and ``order: sft-dpo`` (SFT first, then the DPO stages).

    tempoforge train temple --config configs/train/temple_tiny.yaml [--pairs pairs.jsonl] [--out runs/temple]
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempoforge.presets import for_users
from tempoforge.train.recipes import recipe_ending
from tempoforge.train.settings import DPOSettings, SFTSettings

if TYPE_CHECKING:
    from tempoforge.records import PreferencePair
    from tempoforge.train.data import SFTItem

__all__ = ["TempleConfig", "run_temple"]

HELP = "TEMPLE: progressive DPO curriculum (r = 16 -> 8 -> 4 -> 2) then SFT"
DESCRIPTION = for_users(__doc__ or "")
log = logging.getLogger(__name__)


@dataclass
class TempleConfig:
    """A TEMPLE run: where the model and data are, the curriculum, and each stage's settings."""

    model: str = field(default="tiny:qwen2_5_vl", metadata={"help": "model directory or tiny:<model_type>"})
    pairs: str = field(default="pairs.jsonl", metadata={"help": "TEMPLE pairs (tempoforge synth temple)"})
    sft_data: str | None = field(default=None, metadata={"help": "SFT JSONL {id, video, prompt, answer}; "
                                                                 "default: the chosen responses of the pairs"})
    out: str = field(default="runs/temple", metadata={"help": "output folder (one subfolder per stage)"})
    stages: list[int] = field(default_factory=lambda: [16, 8, 4, 2], metadata={"help": "curriculum r values"})
    schedule: str = field(default="progressive", metadata={"choices": ("progressive", "single"),
                                                           "help": "progressive, or single (ablation)"})
    order: str = field(default="dpo-sft", metadata={"choices": ("dpo-sft", "sft-dpo", "dpo-only"),
                                                    "help": "dpo-sft (TEMPLE), sft-dpo (ablation) or dpo-only"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    dpo: DPOSettings = field(default_factory=DPOSettings)
    sft: SFTSettings = field(default_factory=SFTSettings)


def _sft_items(cfg: TempleConfig, pairs: list[PreferencePair], base: Path) -> list[SFTItem]:
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.video import resolve_video
    from tempoforge.train.data import SFTItem

    if cfg.sft_data is None:
        seen: dict[tuple[str, str], SFTItem] = {}
        for p in pairs:
            seen.setdefault((p.video, p.prompt), SFTItem(p.id, p.video, p.prompt, p.chosen))
        return list(seen.values())
    path = Path(cfg.sft_data)
    return [SFTItem(str(r["id"]), resolve_video(str(r["video"]), path.parent), str(r["prompt"]), str(r["answer"]))
            for r in read_jsonl(path)]


def run_temple(cfg: TempleConfig) -> dict[str, Any]:
    """Run the curriculum; returns per-stage loss curves and the final checkpoint path."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import PreferencePair
    from tempoforge.train.checkpoint import DONE_MARKER, is_done, mark_done, resolve_model, save_checkpoint
    from tempoforge.train.dpo import run_dpo
    from tempoforge.train.sft import run_sft

    out = Path(cfg.out)
    pairs_path = Path(cfg.pairs)
    pairs = list(read_jsonl(pairs_path, PreferencePair))
    if not pairs:
        raise ValueError(f"{pairs_path}: no pairs")
    stages: list[tuple[str, list[PreferencePair] | None]] = []
    if cfg.schedule == "single":
        stages.append(("dpo_all", pairs))
    elif cfg.schedule == "progressive":
        for r in cfg.stages:
            subset = [p for p in pairs if p.r == r]
            if not subset:
                log.warning("no pairs with r=%s in %s: stage skipped", r, pairs_path)
                continue
            stages.append((f"dpo_r{r}", subset))
    else:
        raise ValueError(f"schedule must be progressive or single, got {cfg.schedule!r}")
    if cfg.order == "dpo-sft":
        stages.append(("sft", None))
    elif cfg.order == "sft-dpo":
        stages.insert(0, ("sft", None))
    elif cfg.order != "dpo-only":
        raise ValueError(f"order must be dpo-sft, sft-dpo or dpo-only, got {cfg.order!r}")
    lm = resolve_model(cfg.model, seed=cfg.seed)
    curves: dict[str, Any] = {}
    for name, stage_pairs in stages:
        stage_dir = out / name
        if is_done(stage_dir):
            log.info("stage %s already done: loading %s", name, stage_dir)
            lm = resolve_model(str(stage_dir))
            done = json.loads((stage_dir / DONE_MARKER).read_text())
            curves[name] = {k: v for k, v in done.items() if k != "stage"}
            continue
        log.info("stage %s (%s examples)", name, "SFT" if stage_pairs is None else len(stage_pairs))
        if stage_pairs is None:
            res_sft = run_sft(lm, _sft_items(cfg, pairs, pairs_path.parent), cfg.sft, stage_dir / "trainer")
            lm.model, losses = res_sft.model, res_sft.losses
            curves[name] = {"loss": losses}
        else:
            res = run_dpo(lm, stage_pairs, cfg.dpo, stage_dir / "trainer")
            lm.model = res.model
            curves[name] = {"loss": res.losses, "accuracy": res.accuracy}
        save_checkpoint(lm, stage_dir)
        mark_done(stage_dir, stage=name, **curves[name])
    final = out / stages[-1][0]
    return {"stages": [s for s, _ in stages], "curves": curves, "final": str(final)}


add_arguments, main = recipe_ending(TempleConfig, "temple_", lambda cfg, args: run_temple(cfg),
                                    summary=("stages", "final"))

"""Tempo-R0: PIR-GRPO on video grounding, with SAA frames and explicit timestamps (METHODS.md 4).

    tempoforge train tempo-r0 --config configs/train/tempo_r0_tiny.yaml [--data grounding.jsonl] [--out DIR]
                              [--selection saa|uniform] [--timestamps text|mrope|...] [--irrelevant-ratio 0.1]

Steps: read the grounding set (``GroundingSample`` JSONL, e.g. TempoWorld's ``annotations/grounding.jsonl``);
mix in irrelevant and partially irrelevant queries built from the set itself (``synth/irrelevant.py``) so
they make ``irrelevant_ratio`` of the training prompts (10% by default, the paper's best; 0 disables it);
turn every sample into a prompt (:func:`tempo_r0_prompt`: the grounding template, the video duration, and
the R1-style instruction to think in ``<think>`` and answer in ``<answer>``, or refuse); run GRPO
(``train/grpo.py``) with the summed rewards (format + refusal-aware IoU by default); save the merged
model (``final/``, stock layout) and ``tempoforge_train.json``.

The per-run input choices live in ``grpo.video``: ``selection: saa`` (SAA: the frame budget spent where the
content changes, true times kept) or ``uniform``; ``timestamps: text`` (ETA: a ``<12.5 seconds>`` marker
before every frame group, aligned to the actual frame times), ``mrope`` or any other registered strategy (``tempoforge.timestamps``). ``--selection`` and
``--timestamps`` override them from the command line. A finished run is skipped on rerun (done-marker);
an interrupted one resumes from its last trainer checkpoint when ``grpo.optim.save_steps`` > 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempoforge.models.video import SELECTIONS
from tempoforge.presets import for_users
from tempoforge.timestamps import STRATEGIES
from tempoforge.train.recipes import recipe_ending
from tempoforge.train.settings import GRPOSettings

if TYPE_CHECKING:
    from tempoforge.records import GroundingSample
    from tempoforge.train.grpo import GRPOItem

__all__ = ["R1_INSTRUCTION", "REFUSAL_ANSWER", "TempoR0Config", "grpo_items", "run_tempo_r0", "tempo_r0_prompt"]

HELP = "Tempo-R0: refusal-aware GRPO (PIR-GRPO) on video grounding, with SAA frames and explicit timestamps"
DESCRIPTION = for_users(__doc__ or "")
log = logging.getLogger(__name__)

REFUSAL_ANSWER = "The event does not appear in the video."
R1_INSTRUCTION = ("First think about the query and the video inside <think> </think>, then give the answer "
                  'inside <answer> </answer>: "From X to Y seconds.", or "' + REFUSAL_ANSWER + '" if nothing '
                  "in the video matches the query.")


def tempo_r0_prompt(query: str, duration: float | None = None) -> str:
    """The grounding prompt (``models/prompts.py``) followed by the R1 think/answer/refuse instruction."""
    from tempoforge.models.prompts import grounding_prompt

    return f"{grounding_prompt(query, duration)} {R1_INSTRUCTION}"


@dataclass
class TempoR0Config:
    """A Tempo-R0 run: model, data, the irrelevant-pair mix and the GRPO settings."""

    model: str = field(default="tiny:qwen2_5_vl", metadata={"help": "model directory or tiny:<model_type>"})
    data: str = field(default="grounding.jsonl", metadata={"help": "grounding JSONL (GroundingSample records)"})
    out: str = field(default="runs/tempo_r0", metadata={"help": "output folder"})
    irrelevant_ratio: float = field(default=0.1, metadata={"help": "share of irrelevant prompts mixed in (0 = none)"})
    partial_share: float = field(default=0.5, metadata={"help": "share of those that are partially irrelevant"})
    duration_in_prompt: bool = field(default=True, metadata={"help": "state the video duration in the prompt"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N samples of the data"})
    selection: str | None = field(default=None, metadata={"choices": SELECTIONS,
                                                          "help": "override grpo.video.selection"})
    timestamps: str | None = field(default=None, metadata={"choices": STRATEGIES,
                                                           "help": "override grpo.video.timestamps"})
    seed: int = field(default=0, metadata={"help": "seed of the tiny model and of the irrelevant-pair mix"})
    grpo: GRPOSettings = field(default_factory=GRPOSettings)

    def settings(self) -> GRPOSettings:
        """``grpo`` with the command-line overrides applied."""
        video = self.grpo.video
        if self.selection is not None:
            video = replace(video, selection=self.selection)
        if self.timestamps is not None:
            video = replace(video, timestamps=self.timestamps)
        return replace(self.grpo, video=video)


def grpo_items(samples: list[GroundingSample], base: Path | None, duration_in_prompt: bool = True) -> list[GRPOItem]:
    """One GRPO prompt per sample (video paths resolved against ``base``, the data file's folder)."""
    from tempoforge.models.video import resolve_video
    from tempoforge.train.grpo import GRPOItem

    return [GRPOItem(id=s.id, video=resolve_video(s.video, base),
                     prompt=tempo_r0_prompt(s.query, s.duration if duration_in_prompt else None),
                     spans=tuple(sp.as_pair() for sp in s.spans), duration=s.duration, relevant=s.relevant)
            for s in samples]


def run_tempo_r0(cfg: TempoR0Config, lm: Any = None, progress: bool = True) -> dict[str, Any]:
    """Run (or skip, when done) a Tempo-R0 GRPO stage; returns the curves and the final checkpoint path."""
    from tempoforge.errors import UserError
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import GroundingSample
    from tempoforge.synth.irrelevant import mix_irrelevant
    from tempoforge.train.checkpoint import is_done, mark_done, resolve_model, save_checkpoint
    from tempoforge.train.grpo import run_grpo

    out = Path(cfg.out)
    final = out / "final"
    if is_done(final):
        log.info("%s is done; delete it to train again", final)
        return {"final": str(final), "skipped": True}
    data = Path(cfg.data)
    if not data.is_file():
        raise UserError(f"data file not found: {data}")
    samples = list(read_jsonl(data, GroundingSample))[: cfg.limit]
    if cfg.irrelevant_ratio > 0:
        samples, stats = mix_irrelevant(samples, cfg.irrelevant_ratio, cfg.partial_share, cfg.seed)
        log.info("PIR mix: %s", stats)
    else:
        samples = [s for s in samples if s.relevant and s.spans]
    if not samples:
        raise UserError(f"{data}: no usable grounding samples")
    settings = cfg.settings()
    items = grpo_items(samples, data.resolve().parent, cfg.duration_in_prompt)
    lm = lm if lm is not None else resolve_model(cfg.model, seed=cfg.seed)
    res = run_grpo(lm, items, settings, out / "trainer", resume=settings.optim.save_steps > 0, progress=progress)
    lm.model = res.model
    save_checkpoint(lm, final)
    info = {"loss": res.losses, "reward": res.rewards, "reward_parts": res.parts, "stats": res.stats,
            "prompts": len(items),
            "irrelevant": sum(not it.relevant for it in items), "selection": settings.video.selection,
            "timestamps": settings.video.timestamps}
    mark_done(final, **info)
    return {"final": str(final), **info}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    reward = result.get("reward") or []
    return {"final": result["final"], "skipped": result.get("skipped", False), "reward_first": reward[:1],
            "reward_last": reward[-1:]}


add_arguments, main = recipe_ending(TempoR0Config, "tempo_r0_",
                                    lambda cfg, args: run_tempo_r0(cfg, progress=not getattr(args, "quiet", False)),
                                    summary=_summary)

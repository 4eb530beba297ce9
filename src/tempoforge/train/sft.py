"""Supervised fine-tuning on video: ``transformers.Trainer`` with tempoforge's inputs, nothing overridden.

The model's own cross-entropy on the answer tokens (``labels`` from ``build_example``) is the loss; the
batches carry the video tensors, the actual-time M-RoPE ``position_ids`` and ``second_per_grid_ts``, so the
stock ``Trainer`` needs no subclass — only ``remove_unused_columns=False`` and our collator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tempoforge.train.base import (
    loss_history,
    training_arguments,
    use_progress_bar,
    write_run_record,
)
from tempoforge.train.data import ExampleCollator, ExampleDataset, SFTItem
from tempoforge.train.distributed import keep_vision_in_graph
from tempoforge.train.lora import apply_lora
from tempoforge.train.settings import SFTSettings

__all__ = ["SFTResult", "SFTSettings", "run_sft"]


@dataclass
class SFTResult:
    model: Any
    losses: list[float]
    output_dir: Path


def run_sft(lm: Any, items: list[SFTItem], settings: SFTSettings, output_dir: Path,
            resume: bool = False) -> SFTResult:
    """Fine-tune ``lm.model`` on ``items``; returns the trained (PEFT-wrapped when LoRA) model and losses."""
    from transformers import Trainer

    if not items:
        raise ValueError("no training items")
    model = apply_lora(lm.model, settings.lora)
    model.train()
    args = training_arguments(settings.optim, output_dir)
    trainer = Trainer(model=model, args=args, train_dataset=ExampleDataset(lm, items, settings.video),
                      data_collator=ExampleCollator(lm.token_ids["pad"]))
    if settings.vision_learning_rate is not None:
        trainer.optimizer = _split_lr_optimizer(trainer, model, settings)
    use_progress_bar(trainer, "sft")
    with keep_vision_in_graph(model):  # every rank runs the vision tower, video or not (train/distributed.py)
        trainer.train(resume_from_checkpoint=_last_checkpoint(output_dir) if resume else None)
    losses = loss_history(trainer)
    write_run_record(output_dir, stage="sft", settings=settings, losses=losses, items=len(items))
    return SFTResult(model=trainer.model, losses=losses, output_dir=output_dir)


def _split_lr_optimizer(trainer: Any, model: Any, settings: SFTSettings) -> Any:
    """AdamW with the vision encoder (``visual.*`` except the merger) at ``vision_learning_rate`` and the rest
    at the main rate; weight decay on the parameters ``Trainer`` decays (not biases / norms)."""
    import torch

    decay = set(trainer.get_decay_parameter_names(model))
    groups: dict[tuple[bool, bool], list[Any]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        vision = "visual" in name.split(".") and "merger" not in name
        groups.setdefault((vision, name in decay), []).append(p)
    opt = settings.optim
    params = [{"params": ps, "lr": settings.vision_learning_rate if vision else opt.learning_rate,
               "weight_decay": opt.weight_decay if dec else 0.0} for (vision, dec), ps in groups.items()]
    return torch.optim.AdamW(params, lr=opt.learning_rate)


def _last_checkpoint(output_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not output_dir.is_dir():
        return None
    return get_last_checkpoint(str(output_dir))

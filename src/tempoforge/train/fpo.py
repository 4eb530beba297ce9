"""D2VLM training: evidence-token SFT and factorized preference optimization (METHODS.md 3.2-3.3).

SFT stage (per example)::

    L_sft = CE(response tokens) + L_gnd + L_cons                   (models/evidence.py)

FPO stage (per pair; reference-free, beta = 0.1)::

    log pi(y) = sum_tokens log softmax(logits)[token]
              + sum_k sum_t log( y_kt sigmoid(sim_kt) + (1 - y_kt)(1 - sigmoid(sim_kt)) + 1e-10 )
    L_FPO     = -log sigmoid( beta * (log pi(chosen) - log pi(rejected)) )
    L         = L_sft(chosen) + L_FPO

With ``factorized: false`` (``EvidenceTrainSettings``) ``log pi(y)`` is the token sum alone: plain DPO on the
same pairs (reference-free, same beta and SFT term), the non-factorized preference D2VLM compares FPO with.
It cannot see a grounding negative whose text equals the chosen one (``shift``) except through the injected
``<evi>`` features.

``y_kt`` and the injected ``<evi>`` features of each response come from that response's OWN spans
(``PreferencePair.chosen_spans`` / ``rejected_spans``), so a grounding negative (shifted, inserted,
deleted, merged events) is penalised through the grounding term and a text negative (tampered,
repeated) through the token term. Chosen and rejected continue ONE encoding of the (video + prompt)
prefix (``EvidenceModel.forward_groups`` with two continuations; the authors pack both in one sequence
with a masked rejected branch — equivalent, tested against separate forwards in ``tests/d2vlm``).

Both stages are a ``transformers.Trainer`` subclass overriding only ``compute_loss``; the trained module is
the ``EvidenceModel`` (PEFT-wrapped language model + evidence heads + ``<evi>`` rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tempoforge.errors import UserError
from tempoforge.models.evidence import EvidenceExample, EvidenceModel, build_evidence_example
from tempoforge.models.video import VideoSettings, load_frames
from tempoforge.records import PreferencePair, Span
from tempoforge.train.base import (
    LossTrainer,
    loss_history,
    training_arguments,
    use_progress_bar,
    write_run_record,
)
from tempoforge.train.distributed import keep_vision_in_graph
from tempoforge.train.lora import LoraSettings, apply_lora
from tempoforge.train.settings import EvidenceTrainSettings

__all__ = ["EvidenceItem", "EvidenceTrainSettings", "EvidenceTrainer", "StageResult", "fpo_loss", "prepare",
           "run_evidence_sft", "run_fpo"]


@dataclass(frozen=True)
class EvidenceItem:
    """One SFT example: ``response`` in the ``<evi>`` format, ``spans`` one per evidence-part ``<evi>``."""

    id: str
    video: str
    prompt: str
    response: str
    spans: tuple[Span, ...]


def fpo_loss(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """Per-pair ``-log sigmoid(beta * (log pi(chosen) - log pi(rejected)))`` (no reference model)."""
    return -F.logsigmoid(beta * (chosen_logps - rejected_logps))


class _ItemDataset(torch.utils.data.Dataset[EvidenceExample]):
    def __init__(self, elm: EvidenceModel, items: list[EvidenceItem], video: VideoSettings) -> None:
        self.elm, self.items, self.video = elm, items, video

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> EvidenceExample:
        it = self.items[i]
        frames = load_frames(it.video, self.video)
        return build_evidence_example(self.elm, it.prompt, frames, self.video.timestamps, it.response, it.spans,
                                      max_pixels=self.video.max_pixels)


class _PairDataset(torch.utils.data.Dataset[tuple[EvidenceExample, EvidenceExample]]):
    def __init__(self, elm: EvidenceModel, pairs: list[PreferencePair], video: VideoSettings) -> None:
        for p in pairs:
            if p.rejected_video is not None:
                raise UserError(f"pair {p.id}: FPO conditions both responses on one video (rejected_video set)")
            if not p.chosen_spans or not p.rejected_spans:
                raise UserError(f"pair {p.id}: FPO needs chosen_spans and rejected_spans (tempoforge synth fpo)")
        self.elm, self.pairs, self.video = elm, pairs, video

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[EvidenceExample, EvidenceExample]:
        p = self.pairs[i]
        frames = load_frames(p.video, self.video)
        s = self.video.timestamps
        cap = self.video.max_pixels
        return (build_evidence_example(self.elm, p.prompt, frames, s, p.chosen, p.chosen_spans, max_pixels=cap),
                build_evidence_example(self.elm, p.prompt, frames, s, p.rejected, p.rejected_spans, max_pixels=cap))


def _collate(items: list[Any]) -> dict[str, Any]:
    return {"items": items}


class EvidenceTrainer(LossTrainer):
    """``Trainer`` whose only change is the loss: evidence SFT (``mode="sft"``), or SFT(chosen) + FPO
    (``mode="fpo"``; ``factorized=False``: plain DPO on the token log-likelihoods); every loss part (``ce``,
    ``gnd``, ``cons``; ``fpo``, ``accuracy``, ``margin``) is logged."""

    def __init__(self, *args: Any, mode: str, beta: float, pad_token_id: int, factorized: bool = True,
                 **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.mode, self.beta, self.pad_token_id, self.factorized = mode, beta, pad_token_id, factorized

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        # ``model(...)`` (not a method) so that DDP / FSDP wrappers see the forward
        items = inputs["items"]
        if self.mode == "sft":
            parts = model(groups=[[x] for x in items], pad_token_id=self.pad_token_id)
            loss = parts["loss"]
        else:
            parts = model(groups=[[c, r] for c, r in items], pad_token_id=self.pad_token_id,
                          sft_rows=range(0, 2 * len(items), 2))
            lp = parts["logps" if self.factorized else "token_logps"].view(len(items), 2)
            fpo = fpo_loss(lp[:, 0], lp[:, 1], self.beta).mean()
            loss = parts["loss"] + fpo
            parts = {**parts, "fpo": fpo, "accuracy": (lp[:, 0] > lp[:, 1]).float().mean(),
                     "margin": (lp[:, 0] - lp[:, 1]).mean()}
        for key, val in parts.items():
            if key not in ("loss", "logps", "token_logps"):
                self.record(key, val.detach())
        return (loss, {"loss_parts": parts}) if return_outputs else loss


@dataclass
class StageResult:
    model: EvidenceModel
    losses: list[float]
    history: dict[str, list[float]]
    output_dir: Path


def prepare(elm: EvidenceModel, lora: LoraSettings) -> EvidenceModel:
    """Wrap the language model in a fresh LoRA adapter (unless it already has one or LoRA is off);
    the evidence heads and ``<evi>`` rows are always trainable."""
    if not hasattr(elm.model, "peft_config"):
        elm.attach(apply_lora(elm.model, lora))
    for p in elm.heads.parameters():
        p.requires_grad_(True)
    return elm


def _run(elm: EvidenceModel, dataset: Any, settings: EvidenceTrainSettings, output_dir: Path, mode: str,
         n: int) -> StageResult:
    if settings.optim.gradient_checkpointing:
        raise UserError("gradient_checkpointing is not supported for D2VLM: the evidence forward continues the "
                        "prefix's KV cache, which transformers disables under checkpointing")
    prepare(elm, settings.lora)
    elm.train()
    trainer = EvidenceTrainer.create(
        mode=mode, beta=settings.beta, factorized=settings.factorized, pad_token_id=elm.lm.token_ids["pad"],
        model=elm,
        args=training_arguments(settings.optim, output_dir), train_dataset=dataset, data_collator=_collate)
    use_progress_bar(trainer, f"d2vlm-{mode}")
    with keep_vision_in_graph(elm.model):  # as every trainer: a rank without video must not hang DDP / ZeRO-3
        trainer.train()
    keys = ("ce", "gnd", "cons") + (("fpo", "accuracy", "margin") if mode == "fpo" else ())
    history = {k: loss_history(trainer, k) for k in keys}
    losses = loss_history(trainer)
    write_run_record(output_dir, stage=f"d2vlm-{mode}", settings=settings, losses=losses, history=history,
                     examples=n)
    elm.eval()
    return StageResult(elm, losses, history, output_dir)


def run_evidence_sft(elm: EvidenceModel, items: list[EvidenceItem], settings: EvidenceTrainSettings,
                     output_dir: Path) -> StageResult:
    """Evidence-token SFT (CE + L_gnd + L_cons) on ``items``."""
    if not items:
        raise UserError("no D2VLM SFT items")
    return _run(elm, _ItemDataset(elm, items, settings.video), settings, output_dir, "sft", len(items))


def run_fpo(elm: EvidenceModel, pairs: list[PreferencePair], settings: EvidenceTrainSettings,
            output_dir: Path) -> StageResult:
    """FPO (SFT losses on chosen + L_FPO) on factorized pairs (``tempoforge synth fpo``)."""
    if not pairs:
        raise UserError("no FPO pairs")
    return _run(elm, _PairDataset(elm, pairs, settings.video), settings, output_dir, "fpo", len(pairs))

"""Sigmoid DPO on video pairs, with cached reference log-probs and a shared video + prompt encoding.

Loss (Rafailov et al.; TEMPLE uses it with beta 0.1)::

    L = -log sigmoid( beta * [ (log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x)) ] )

Two modes (TEMPLE, METHODS.md 1.3): ``same-video`` — chosen and rejected are answers about the clean video
(the pair's prompt and video are encoded once and both answers continue it, ``train/logps.py``);
``different-videos`` — chosen conditioned on the clean video, rejected on the perturbed one
(``PreferencePair.rejected_video``), so each has its own prefix.

Reference log-probs are computed once, before the first update, with the starting weights (which *are* the
reference: a fresh LoRA adapter is the identity), and cached; TRL recomputes them with a second model
every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tempoforge.models.inputs import Example, build_example
from tempoforge.models.video import VideoSettings, load_frames
from tempoforge.records import PreferencePair
from tempoforge.train.base import (
    LossTrainer,
    loss_history,
    training_arguments,
    use_progress_bar,
    write_run_record,
)
from tempoforge.train.distributed import keep_vision_in_graph
from tempoforge.train.logps import shared_prefix_logps
from tempoforge.train.lora import apply_lora
from tempoforge.train.settings import DPOSettings

__all__ = ["DPOSettings", "PairDataset", "VideoDPOTrainer", "dpo_loss", "preference_accuracy", "preference_margins",
           "run_dpo"]


def dpo_loss(pc: torch.Tensor, pr: torch.Tensor, rc: torch.Tensor, rr: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair sigmoid DPO loss and the implicit rewards ``beta * (log pi - log ref)`` of both sides."""
    chosen_reward = beta * (pc - rc)
    rejected_reward = beta * (pr - rr)
    return -F.logsigmoid(chosen_reward - rejected_reward), chosen_reward.detach(), rejected_reward.detach()


@dataclass
class PairExample:
    """A tokenised pair; ``shared`` when both answers continue one prefix (same video and prompt)."""

    chosen: Example
    rejected: Example
    shared: bool
    index: int


class PairDataset(torch.utils.data.Dataset[PairExample]):
    """``PreferencePair`` records tokenised lazily; holds the cached reference log-probs by index."""

    def __init__(self, lm: Any, pairs: list[PreferencePair], video: VideoSettings) -> None:
        self.lm, self.pairs, self.video = lm, pairs, video
        self.ref: torch.Tensor | None = None  # (N, 2): reference log-probs of chosen, rejected

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> PairExample:
        p = self.pairs[i]
        frames = load_frames(p.video, self.video)
        cap = self.video.max_pixels
        chosen = build_example(self.lm, p.prompt, frames, self.video.timestamps, answer=p.chosen, max_pixels=cap)
        rejected_frames = frames if p.rejected_video is None else load_frames(p.rejected_video, self.video)
        rejected = build_example(self.lm, p.prompt, rejected_frames, self.video.timestamps, answer=p.rejected,
                                 max_pixels=cap)
        return PairExample(chosen, rejected, shared=p.rejected_video is None, index=i)


def _collate_pairs(items: list[PairExample]) -> dict[str, Any]:
    return {"pairs": items}


def pair_logps(model: Any, pairs: list[PairExample], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Policy log-probs of (chosen, rejected) for each pair, sharing the prefix where the pair allows."""
    shared = [p for p in pairs if p.shared]
    split = [p for p in pairs if not p.shared]
    chosen = torch.zeros(len(pairs), device=next(model.parameters()).device)
    rejected = torch.zeros_like(chosen)
    order = {id(p): k for k, p in enumerate(pairs)}
    if shared:
        res = shared_prefix_logps(model, [[p.chosen, p.rejected] for p in shared], pad_token_id=pad_token_id)
        lp = res.sum_logps.view(len(shared), 2)
        idx = torch.tensor([order[id(p)] for p in shared], device=chosen.device)
        chosen = chosen.index_copy(0, idx, lp[:, 0])
        rejected = rejected.index_copy(0, idx, lp[:, 1])
    if split:
        res = shared_prefix_logps(model, [[e] for p in split for e in (p.chosen, p.rejected)], pad_token_id=pad_token_id)
        lp = res.sum_logps.view(len(split), 2)
        idx = torch.tensor([order[id(p)] for p in split], device=chosen.device)
        chosen = chosen.index_copy(0, idx, lp[:, 0])
        rejected = rejected.index_copy(0, idx, lp[:, 1])
    return chosen, rejected


class VideoDPOTrainer(LossTrainer):
    """``Trainer`` whose only change is the loss: sigmoid DPO against cached reference log-probs.

    ``VideoDPOTrainer.create(model=..., args=..., train_dataset=PairDataset, data_collator=_collate_pairs,
    beta=..., pad_token_id=...)``; logs ``rewards/chosen``, ``rewards/rejected``, ``rewards/accuracy`` and
    ``rewards/margin`` per step.
    """

    def __init__(self, *args: Any, beta: float, pad_token_id: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.beta, self.pad_token_id = beta, pad_token_id

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        pairs: list[PairExample] = inputs["pairs"]
        ds: PairDataset = self.train_dataset  # type: ignore[assignment]
        assert ds.ref is not None, "reference log-probs are computed before training"
        pc, pr = pair_logps(model, pairs, self.pad_token_id)
        ref = ds.ref[[p.index for p in pairs]].to(pc.device)
        losses, cr, rr = dpo_loss(pc, pr, ref[:, 0], ref[:, 1], self.beta)
        for key, val in (("rewards/chosen", cr.mean()), ("rewards/rejected", rr.mean()),
                         ("rewards/accuracy", (cr > rr).float().mean()), ("rewards/margin", (cr - rr).mean())):
            self.record(key, val)
        loss = losses.mean()
        return (loss, {"chosen_logps": pc, "rejected_logps": pr}) if return_outputs else loss


@torch.no_grad()
def compute_reference_logps(model: Any, dataset: PairDataset, pad_token_id: int, batch_size: int = 4) -> torch.Tensor:
    """Reference log-probs of every pair under the current (starting) weights, in eval mode."""
    was_training = model.training
    model.eval()
    out = torch.zeros(len(dataset), 2)
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        c, r = pair_logps(model, items, pad_token_id)
        out[start:start + len(items), 0] = c.float().cpu()
        out[start:start + len(items), 1] = r.float().cpu()
    model.train(was_training)
    return out


@dataclass
class DPOResult:
    model: Any
    losses: list[float]
    accuracy: list[float]
    output_dir: Path


def run_dpo(lm: Any, pairs: list[PreferencePair], settings: DPOSettings, output_dir: Path) -> DPOResult:
    """Train a LoRA (or full) DPO stage on ``pairs``; returns the trained model and the loss curve."""
    if not pairs:
        raise ValueError("no preference pairs to train on")
    pad = lm.token_ids["pad"]
    dataset = PairDataset(lm, pairs, settings.video)
    model = apply_lora(lm.model, settings.lora)
    args = training_arguments(settings.optim, output_dir)
    model.to(args.device)  # reference pass on this rank's accelerator (cuda:LOCAL_RANK under accelerate launch)
    dataset.ref = compute_reference_logps(model, dataset, pad)
    model.train()
    trainer = VideoDPOTrainer.create(
        model=model, args=args, train_dataset=dataset,
        data_collator=_collate_pairs, beta=settings.beta, pad_token_id=pad,
    )
    use_progress_bar(trainer, "dpo")
    with keep_vision_in_graph(model):  # every rank runs the vision tower, video or not (train/distributed.py)
        trainer.train()
    losses = loss_history(trainer)
    acc = loss_history(trainer, "rewards/accuracy")
    write_run_record(output_dir, stage="dpo", settings=settings, losses=losses, accuracy=acc, pairs=len(pairs))
    return DPOResult(model=trainer.model, losses=losses, accuracy=acc, output_dir=output_dir)


@torch.no_grad()
def preference_margins(lm: Any, pairs: list[PreferencePair], video: VideoSettings, batch_size: int = 4) -> torch.Tensor:
    """``log p(chosen) - log p(rejected)`` of every pair under ``lm`` (eval mode, no gradients): a pair is
    "preferred" when its margin is > 0."""
    dataset = PairDataset(lm, pairs, video)
    logps = compute_reference_logps(lm.model, dataset, lm.token_ids["pad"], batch_size=batch_size)
    return logps[:, 0] - logps[:, 1]


def preference_accuracy(lm: Any, pairs: list[PreferencePair], video: VideoSettings, batch_size: int = 4) -> dict[str, Any]:
    """How often the model prefers the chosen response: ``log p(chosen) > log p(rejected)`` per pair.

    The TEMPLE-style temporal probe (DESIGN.md: 1.0 after grounding training vs ~0.5 at init); returns the
    overall rate, the rate per perturbation kind and the mean log-prob margin.
    """
    margins = preference_margins(lm, pairs, video, batch_size)
    wins = (margins > 0).float()
    by_kind: dict[str, list[float]] = {}
    for p, w in zip(pairs, wins.tolist(), strict=True):
        by_kind.setdefault(p.kind or "pair", []).append(w)
    return {
        "accuracy": float(wins.mean()) if len(pairs) else float("nan"),
        "by_kind": {k: sum(v) / len(v) for k, v in sorted(by_kind.items())},
        "margin": float(margins.mean()) if len(pairs) else float("nan"),
        "pairs": len(pairs),
    }

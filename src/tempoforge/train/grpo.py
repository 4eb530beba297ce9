"""GRPO on video (Tempo-R0's PIR-GRPO, METHODS.md 4): group sampling, group-normalised advantages,
PPO-style clipping, optional KL to the reference — a ``transformers.Trainer`` whose only override is the loss.

Why not TRL's ``GRPOTrainer``: in TRL 1.16 it drops the video tensors from the forward that computes the loss
(DESIGN.md, platform facts), so the policy would be trained on text alone. Here every step is::

    items (B prompts) --build_example--> video + prompt tokens (the run's frame selection and timestamps)
      --model.generate(num_return_sequences=G, do_sample, temperature T, top_k off)--> G completions each
      --rewards (train/rewards, summed with weights)--> r (B*G,) --group_advantages--> A (B*G,)
      --shared_prefix_logps (video + prompt encoded ONCE per group, the G completions continue its KV cache)
      --> log pi(o_t) per completion token --grpo_loss--> loss

Design choices (no public Tempo-R0 code exists):

- **Sampling**: ``G = num_generations`` (Tempo-R0: 8) completions per prompt from one ``generate`` call with
  ``num_return_sequences`` (generation reuses the explicit actual-time M-RoPE ``position_ids``; a test checks
  the sampled logits equal teacher-forced ones for every family), in eval mode (no dropout) and without
  gradients; pure temperature sampling (``top_k`` off, ``top_p`` 1 by default) so the samples come from the
  distribution whose log-probs are trained (``softmax(logits / T)``; with ``top_p < 1`` the samples come
  from the truncated distribution while the ratios use the full one, as in TRL). A completion ends at its first ``<|im_end|>`` / pad token,
  which is kept (the policy learns to stop); a completion cut at ``max_new_tokens`` is kept as it is.
- **Advantages** (:func:`group_advantages`): ``A_i = (r_i - mean_g r) / (std_g r + eps)`` per group,
  ``std`` the unbiased sample standard deviation (``torch.std``, as TRL), ``eps = 1e-4``. A group whose
  rewards are all equal gets ``A = 0`` exactly (``0 / (0 + eps)``): it adds no policy gradient, only the KL
  term; the share of such groups is logged as ``frac_reward_zero_std``. ``scale_rewards: false`` keeps
  ``r - mean`` (Dr. GRPO).
- **Loss** (:func:`grpo_loss`, DeepSeekMath eq. 3 with k3 KL): per completion token
  ``-(min(rho * A, clip(rho, 1 - eps, 1 + eps_high) * A) - beta * KL)``, ``rho = exp(log pi - log pi_old)``,
  ``KL = exp(log ref - log pi) - (log ref - log pi) - 1``; averaged over each completion's tokens then over
  completions (``loss_type: grpo``) or over all tokens of the batch (``token``, DAPO).
- **Old policy**: with ``num_iterations = 1`` (default) ``pi_old`` is the current policy detached (ratio 1
  but the gradient is the policy gradient, as in TRL); with ``mu > 1`` the rollout and its log-probs are
  computed once and reused for ``mu`` optimizer steps (the batches the trainer fetches on reuse steps are
  skipped, so a run of ``max_steps`` rolls out ``max_steps / mu`` batches; needs ``grad_accum = 1``).
- **Reference**: with LoRA, the base model is the adapter disabled (``PeftModel.disable_adapter()``, no
  copy); for a full fine-tune a frozen copy of the starting model is kept (memory x2). ``beta = 0`` skips
  the reference forward entirely.
- **Vision tower** frozen by default (``LoraSettings.train_vision``), as in Tempo-R0.

Logged per step: ``loss``, ``reward`` (weighted sum) and ``reward_std``, ``rewards/<name>`` for each reward
(its own mean), ``kl``, ``clip_ratio``, ``completion_length``, ``frac_reward_zero_std`` and ``refusal_share`` (the
share of sampled completions that refuse, by the strict parser: without refusals sampled, the refusal reward
has no variance to learn from).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tempoforge.eval.parsing import parse_spans
from tempoforge.models.inputs import IGNORE_INDEX, Example, build_example, collate
from tempoforge.models.video import load_frames
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
from tempoforge.train.rewards import RewardFn, compute_rewards
from tempoforge.train.settings import GRPOSettings

__all__ = ["GRPOItem", "GRPOLoss", "GRPOResult", "GRPOSettings", "VideoGRPOTrainer", "group_advantages",
           "grpo_loss", "run_grpo", "with_completion"]


@dataclass(frozen=True)
class GRPOItem:
    """One training prompt: a video, the exact prompt text, and what the rewards need to score answers."""

    id: str
    video: str
    prompt: str
    spans: tuple[tuple[float, float], ...] = ()
    duration: float | None = None
    relevant: bool = True


def group_advantages(rewards: torch.Tensor, group_size: int, eps: float = 1e-4, scale: bool = True) -> torch.Tensor:
    """``(r - mean_g) / (std_g + eps)`` per group of ``group_size`` consecutive rewards (see module doc)."""
    if group_size < 2 or rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not form groups of {group_size} (>= 2)")
    r = rewards.float().view(-1, group_size)
    adv = r - r.mean(dim=1, keepdim=True)
    if scale:
        adv = adv / (r.std(dim=1, keepdim=True) + eps)
    return adv.view(-1)


@dataclass
class GRPOLoss:
    loss: torch.Tensor
    kl: float  # mean k3 KL over completion tokens (0 without a reference)
    clip_ratio: float  # share of completion tokens whose ratio was clipped


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *,
              ref_logps: torch.Tensor | None = None, beta: float = 0.0, epsilon: float = 0.2,
              epsilon_high: float | None = None, loss_type: str = "grpo") -> GRPOLoss:
    """The clipped GRPO objective with k3 KL, per completion token ``(R, L)``; ``advantages`` ``(R,)``."""
    eps_hi = epsilon if epsilon_high is None else epsilon_high
    m = mask.to(logps.dtype)
    ratio = torch.exp(logps - old_logps)
    adv = advantages.to(logps.dtype).unsqueeze(1)
    clipped = torch.clamp(ratio, 1 - epsilon, 1 + eps_hi)
    per_token = -torch.min(ratio * adv, clipped * adv)
    kl_val = 0.0
    if ref_logps is not None and beta != 0.0:
        d = ref_logps - logps
        kl = torch.exp(d) - d - 1
        per_token = per_token + beta * kl
        kl_val = float(((kl * m).sum() / m.sum().clamp(min=1)).detach())
    if loss_type == "grpo":
        loss = ((per_token * m).sum(1) / m.sum(1).clamp(min=1)).mean()
    elif loss_type == "token":
        loss = (per_token * m).sum() / m.sum().clamp(min=1)
    else:
        raise ValueError(f"loss_type must be grpo or token, got {loss_type!r}")
    was_clipped = ((ratio < 1 - epsilon) & (adv < 0)) | ((ratio > 1 + eps_hi) & (adv > 0))
    clip_ratio = float(((was_clipped.to(m.dtype) * m).sum() / m.sum().clamp(min=1)).detach())
    return GRPOLoss(loss, kl_val, clip_ratio)


def with_completion(prompt: Example, completion_ids: torch.Tensor) -> Example:
    """``prompt`` (built without an answer) continued by generated token ids, labels on the completion.

    The prompt ends with text (``"<|im_start|>assistant\\n"``), whose three M-RoPE rows are equal, so the
    completion's positions are ``last + 1, last + 2, ...`` in all rows — what ``build_example`` gives an
    answer and what ``generate`` used (tested).
    """
    ids = completion_ids.to(torch.long).cpu()
    n = len(ids)
    last = prompt.position_ids[:, -1:]
    pos = torch.cat([prompt.position_ids, last + torch.arange(1, n + 1, dtype=last.dtype)], dim=1)
    input_ids = torch.cat([prompt.input_ids, ids])
    labels = input_ids.clone()
    labels[: prompt.prompt_length] = IGNORE_INDEX
    return Example(input_ids=input_ids, mm_token_type_ids=torch.cat([prompt.mm_token_type_ids, torch.zeros_like(ids)]),
                   position_ids=pos, labels=labels, prompt_length=prompt.prompt_length,
                   pixel_values_videos=prompt.pixel_values_videos, video_grid_thw=prompt.video_grid_thw,
                   second_per_grid_ts=prompt.second_per_grid_ts, pixel_values=prompt.pixel_values,
                   image_grid_thw=prompt.image_grid_thw, frame_times=prompt.frame_times, strategy=prompt.strategy,
                   segments=prompt.segments)


def _cut(row: torch.Tensor, stop_ids: Sequence[int]) -> torch.Tensor:
    """Generated ids up to and including the first stop token (all of them when none was produced)."""
    hits = torch.isin(row, torch.tensor(list(stop_ids), device=row.device)).nonzero()
    return row[: int(hits[0]) + 1] if len(hits) else row


@dataclass
class Rollout:
    """One step's sampled groups: examples (prompt + completion), texts, rewards and fixed log-probs."""

    groups: list[list[Example]]
    completions: list[str]
    rewards: torch.Tensor  # (R,)
    parts: dict[str, list[float]]
    advantages: torch.Tensor  # (R,)
    old_logps: torch.Tensor | None  # (R, Lc), only when num_iterations > 1
    ref_logps: torch.Tensor | None  # (R, Lc), only when beta != 0
    lengths: list[int]


class VideoGRPOTrainer(LossTrainer):
    """``Trainer`` whose only change is the loss: sample, reward, normalise, clipped policy gradient.

    ``VideoGRPOTrainer.create(model=..., args=..., train_dataset=..., data_collator=_collate_items, lm=...,
    settings=..., rewards=..., ref_model=...)``; the statistics of the module docstring are logged per step.
    """

    def __init__(self, *args: Any, lm: Any, settings: GRPOSettings, rewards: Sequence[str | RewardFn],
                 ref_model: Any = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lm, self.settings, self.reward_fns, self.ref_model = lm, settings, list(rewards), ref_model
        self.pad_token_id = lm.token_ids["pad"]
        self._buffer: Rollout | None = None
        self._buffer_uses = 0
        self.last_samples: list[dict[str, Any]] = []

    # -- rollout -----------------------------------------------------------------------------------------
    def prompt_examples(self, items: Sequence[GRPOItem]) -> list[Example]:
        v = self.settings.video
        return [build_example(self.lm, it.prompt, load_frames(it.video, v), v.timestamps, max_pixels=v.max_pixels)
                for it in items]

    @torch.no_grad()
    def sample_completions(self, model: Any, prompts: list[Example]) -> list[list[torch.Tensor]]:
        """``G`` completions (token ids) per prompt, sampled from the current policy."""
        s, ids = self.settings, self.lm.token_ids
        net = self.accelerator.unwrap_model(model)
        device = next(net.parameters()).device
        batch = {k: v.to(device) for k, v in collate(prompts, pad_token_id=self.pad_token_id,
                                                      padding_side="left").items()}
        was_training = net.training
        net.eval()
        try:
            out = net.generate(**batch, do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=0,
                               num_return_sequences=s.num_generations, max_new_tokens=s.max_new_tokens,
                               pad_token_id=ids["pad"], eos_token_id=[ids["eos"], ids["pad"]])
        finally:
            net.train(was_training)
        new = out[:, batch["input_ids"].shape[1]:].cpu()
        g = s.num_generations
        stops = [ids["eos"], ids["pad"]]
        return [[_cut(new[i * g + j], stops) for j in range(g)] for i in range(len(prompts))]

    def rollout(self, model: Any, items: Sequence[GRPOItem]) -> Rollout:
        s = self.settings
        g = s.num_generations
        prompts = self.prompt_examples(items)
        completion_ids = self.sample_completions(model, prompts)
        groups = [[with_completion(p, c) for c in cs] for p, cs in zip(prompts, completion_ids, strict=True)]
        tok = self.lm.tokenizer
        texts = [tok.decode(c, skip_special_tokens=True).strip() for cs in completion_ids for c in cs]
        fields: dict[str, Any] = {
            "spans": [[list(sp) for sp in it.spans] for it in items for _ in range(g)],
            "duration": [it.duration for it in items for _ in range(g)],
            "relevant": [it.relevant for it in items for _ in range(g)],
            "sample_id": [it.id for it in items for _ in range(g)],
        }
        total, parts = compute_rewards(self.reward_fns, texts, s.reward_weights, **fields)
        rewards = torch.tensor(total, dtype=torch.float32)
        adv = group_advantages(rewards, g, s.advantage_eps, s.scale_rewards)
        old = ref = None
        with torch.no_grad():
            if s.num_iterations > 1:
                old = self._logps(model, groups).token_logps.detach()
            if s.beta != 0.0:
                ref = self._reference_logps(model, groups)
        self.last_samples = [{"id": it.id, "prompt": it.prompt, "completion": texts[i * g]}
                             for i, it in enumerate(items)]
        return Rollout(groups, texts, rewards, parts, adv, old, ref,
                       [len(c) for cs in completion_ids for c in cs])

    def _logps(self, model: Any, groups: list[list[Example]]) -> Any:
        return shared_prefix_logps(model, groups, pad_token_id=self.pad_token_id,
                                   temperature=self.settings.temperature)

    def _reference_logps(self, model: Any, groups: list[list[Example]]) -> torch.Tensor:
        if self.ref_model is not None:
            return self._logps(self.ref_model, groups).token_logps.detach()
        net = self.accelerator.unwrap_model(model)
        if not hasattr(net, "disable_adapter"):
            raise ValueError("beta > 0 needs a reference: a LoRA adapter or a ref_model")
        with net.disable_adapter():
            return self._logps(model, groups).token_logps.detach()

    # -- loss --------------------------------------------------------------------------------------------
    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        s = self.settings
        if self._buffer is None or self._buffer_uses >= s.num_iterations:
            self._buffer, self._buffer_uses = self.rollout(model, inputs["items"]), 0
        ro = self._buffer
        self._buffer_uses += 1
        cur = self._logps(model, ro.groups)  # the forward that computes the loss: video + prompt + answers
        dev = cur.token_logps.device
        old = cur.token_logps.detach() if ro.old_logps is None else ro.old_logps.to(dev)
        ref = None if ro.ref_logps is None else ro.ref_logps.to(dev)
        out = grpo_loss(cur.token_logps, old, ro.advantages.to(dev), cur.mask, ref_logps=ref, beta=s.beta,
                        epsilon=s.epsilon, epsilon_high=s.epsilon_high, loss_type=s.loss_type)
        if self._buffer_uses == 1:  # reward statistics once per rollout
            g = s.num_generations
            grouped = ro.rewards.view(-1, g)
            self.record("reward", float(ro.rewards.mean()))
            self.record("reward_std", float(grouped.std(dim=1).mean()))
            self.record("frac_reward_zero_std", float((grouped.std(dim=1) == 0).float().mean()))
            self.record("refusal_share", sum(parse_spans(t).status == "refusal" for t in ro.completions)
                        / len(ro.completions))
            self.record("completion_length", sum(ro.lengths) / len(ro.lengths))
            for name, vals in ro.parts.items():
                self.record(f"rewards/{name}", sum(vals) / len(vals))
        self.record("kl", out.kl)
        self.record("clip_ratio", out.clip_ratio)
        return (out.loss, {"rewards": ro.rewards}) if return_outputs else out.loss


_STAT_KEYS = ("kl", "clip_ratio", "reward_std", "frac_reward_zero_std", "refusal_share", "completion_length")


def _collate_items(items: list[GRPOItem]) -> dict[str, Any]:
    return {"items": items}


class _ItemDataset(torch.utils.data.Dataset[GRPOItem]):
    def __init__(self, items: list[GRPOItem]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> GRPOItem:
        return self.items[i]


@dataclass
class GRPOResult:
    model: Any
    losses: list[float]
    rewards: list[float]  # mean total reward per step
    parts: dict[str, list[float]]  # each reward's mean per step
    output_dir: Path
    stats: dict[str, list[float]] = field(default_factory=dict)  # kl, clip_ratio, reward_std, ... per step
    samples: list[dict[str, Any]] = field(default_factory=list)


def run_grpo(lm: Any, items: list[GRPOItem], settings: GRPOSettings, output_dir: Path, *,
             rewards: Sequence[str | RewardFn] | None = None, resume: bool = False,
             progress: bool = True) -> GRPOResult:
    """Train ``lm.model`` with GRPO on ``items``; ``rewards`` (names or callables) override ``settings.rewards``.

    ``progress``: a tqdm bar with the running reward (else silent). ``resume``: continue from the last
    trainer checkpoint in ``output_dir`` (written every ``optim.save_steps``)."""
    if not items:
        raise ValueError("no GRPO training items")
    if settings.num_iterations > 1 and settings.optim.grad_accum != 1:
        raise ValueError("num_iterations > 1 reuses one rollout per optimizer step: set grad_accum to 1")
    reward_fns: list[str | RewardFn] = list(rewards) if rewards is not None else list(settings.rewards)
    model = apply_lora(lm.model, settings.lora)
    ref_model = None
    if settings.beta != 0.0 and not settings.lora.enabled:
        ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    lm.model = model
    model.train()
    trainer = VideoGRPOTrainer.create(
        model=model, args=training_arguments(settings.optim, output_dir), train_dataset=_ItemDataset(items),
        data_collator=_collate_items, lm=lm, settings=settings, rewards=reward_fns, ref_model=ref_model,
    )
    # the GRPO loss is ~0 by construction: the reward is the number to watch
    use_progress_bar(trainer, "grpo", keys=("reward", "kl"), show=progress)
    resume_from = None
    if resume and output_dir.is_dir():
        from transformers.trainer_utils import get_last_checkpoint

        resume_from = get_last_checkpoint(str(output_dir))
    with keep_vision_in_graph(model):  # a rank whose group has no video must not hang DDP / ZeRO-3
        trainer.train(resume_from_checkpoint=resume_from)
    names = [r if isinstance(r, str) else getattr(r, "__name__", f"reward{k}") for k, r in enumerate(reward_fns)]
    parts = {n: loss_history(trainer, f"rewards/{n}") for n in names}
    stats = {k: loss_history(trainer, k) for k in _STAT_KEYS}
    result = GRPOResult(model=trainer.model, losses=loss_history(trainer), rewards=loss_history(trainer, "reward"),
                        parts=parts, output_dir=output_dir, stats=stats, samples=trainer.last_samples)
    write_run_record(output_dir, stage="grpo", settings=settings, rewards=names, losses=result.losses,
                     reward_curve=result.rewards, reward_parts=parts, stats=stats, items=len(items),
                     samples=result.samples)
    return result

"""Every trainer's settings, as dataclasses (flags and YAML presets are generated from them).

Torch-free, so ``tempoforge train METHOD --help`` builds its flags without importing torch; the trainers
(``sft.py``, ``dpo.py``, ``fpo.py``, ``grpo.py``) import their settings from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tempoforge.models.video import VideoSettings
from tempoforge.train.lora import LoraSettings

__all__ = ["DPOSettings", "EvidenceTrainSettings", "GRPOSettings", "OptimSettings", "SFTSettings"]


@dataclass
class OptimSettings:
    """Optimisation hyper-parameters shared by SFT, DPO, FPO and GRPO."""

    learning_rate: float = field(default=5e-6, metadata={"gt": 0, "help": "peak learning rate"})
    max_steps: int = field(default=100, metadata={"help": "optimizer steps (step-based, not wall-clock)"})
    epochs: float = field(default=1.0, metadata={"gt": 0, "help": "epochs when max_steps <= 0"})
    batch_size: int = field(default=1, metadata={"min": 1, "help": "per-device batch size"})
    grad_accum: int = field(default=1, metadata={"min": 1, "help": "gradient accumulation steps"})
    warmup_ratio: float = field(default=0.05, metadata={"min": 0, "help": "linear warm-up fraction"})
    weight_decay: float = field(default=0.0, metadata={"min": 0, "help": "AdamW weight decay"})
    scheduler: str = field(default="cosine", metadata={"help": "learning-rate schedule"})
    max_grad_norm: float = field(default=1.0, metadata={"min": 0, "help": "gradient clipping (0: none)"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    save_steps: int = field(default=0, metadata={"min": 0, "help": "checkpoint every N steps (0 = only at the end)"})
    bf16: bool = field(default=False, metadata={"help": "bfloat16 mixed precision (GPU)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory"})
    ddp_find_unused_parameters: bool | None = field(default=None, metadata={
        "help": "DDP find_unused_parameters (default: transformers decides; false is faster and safe with "
                "tempoforge's trainers, which run the vision tower on every rank, see train/distributed.py)"})


@dataclass
class SFTSettings:
    """SFT stage settings (TEMPLE SFT: LoRA r 32 alpha 32, lr 1e-4, vision trainable)."""

    optim: OptimSettings = field(default_factory=lambda: OptimSettings(learning_rate=1e-4))
    lora: LoraSettings = field(default_factory=lambda: LoraSettings(r=32, alpha=32, train_vision=True))
    video: VideoSettings = field(default_factory=VideoSettings)
    vision_learning_rate: float | None = field(default=None, metadata={
        "help": "separate learning rate of the vision encoder (merger excluded; TEMPURA full FT: 2e-6)"})


@dataclass
class DPOSettings:
    """TEMPLE's DPO stage: LoRA r 32 / alpha 64 on all linear layers, vision frozen, lr 5e-6, beta 0.1."""

    beta: float = field(default=0.1, metadata={"help": "DPO temperature beta"})
    optim: OptimSettings = field(default_factory=lambda: OptimSettings(learning_rate=5e-6))
    lora: LoraSettings = field(default_factory=LoraSettings)
    video: VideoSettings = field(default_factory=VideoSettings)


@dataclass
class EvidenceTrainSettings:
    """One D2VLM stage (the paper: LoRA, 1 fps, 224x224; FPO beta 0.1)."""

    beta: float = field(default=0.1, metadata={"help": "FPO temperature beta"})
    factorized: bool = field(default=True, metadata={
        "help": "FPO: log pi(y) includes the grounding log-likelihood of the response's own spans (false: "
                "plain DPO on the token log-likelihood only, the paper's non-factorized ablation)"})
    optim: OptimSettings = field(default_factory=lambda: OptimSettings(learning_rate=1e-4))
    lora: LoraSettings = field(default_factory=lambda: LoraSettings(r=32, alpha=64))
    video: VideoSettings = field(default_factory=VideoSettings)


@dataclass
class GRPOSettings:
    """PIR-GRPO hyper-parameters (Tempo-R0: group size 8, temperature 1.0, vision tower frozen)."""

    num_generations: int = field(default=8, metadata={"help": "completions sampled per prompt (group size G)"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling (1.0 = off)"})
    max_new_tokens: int = field(default=128, metadata={"help": "longest completion, tokens"})
    beta: float = field(default=0.04, metadata={"help": "KL coefficient (0 = no reference forward)"})
    epsilon: float = field(default=0.2, metadata={"help": "PPO clip range (lower side)"})
    epsilon_high: float | None = field(default=None, metadata={"help": "upper clip range (None = epsilon)"})
    num_iterations: int = field(default=1, metadata={"help": "optimizer steps per rollout (mu)"})
    loss_type: str = field(default="grpo", metadata={"choices": ("grpo", "token"),
                                                     "help": "grpo (mean per completion) or token (DAPO)"})
    scale_rewards: bool = field(default=True, metadata={"help": "divide advantages by the group std"})
    advantage_eps: float = field(default=1e-4, metadata={"help": "eps in (r - mean) / (std + eps)"})
    rewards: list[str] = field(default_factory=lambda: ["format", "refusal"],
                               metadata={"help": "reward names (train/rewards), summed"})
    reward_weights: list[float] | None = field(default=None, metadata={"help": "one weight per reward (default 1)"})
    optim: OptimSettings = field(default_factory=lambda: OptimSettings(learning_rate=1e-6, batch_size=1))
    lora: LoraSettings = field(default_factory=lambda: LoraSettings(r=64, alpha=128, dropout=0.05))
    video: VideoSettings = field(default_factory=VideoSettings)

    def __post_init__(self) -> None:
        problems = []
        if self.num_generations < 2:
            problems.append("num_generations must be >= 2 (advantages are relative to the group)")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            problems.append("temperature must be > 0 and top_p in (0, 1]")
        if self.loss_type not in ("grpo", "token"):
            problems.append(f"loss_type must be grpo or token, got {self.loss_type!r}")
        if self.num_iterations < 1 or self.max_new_tokens < 1:
            problems.append("num_iterations and max_new_tokens must be >= 1")
        if self.reward_weights is not None and len(self.reward_weights) != len(self.rewards):
            problems.append(f"{len(self.reward_weights)} reward_weights for {len(self.rewards)} rewards")
        if problems:
            raise ValueError("GRPOSettings: " + "; ".join(problems))

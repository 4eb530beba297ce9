"""LoRA on the language model with PEFT, the vision tower frozen or not, and merging between stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoraSettings", "apply_lora", "freeze_vision", "merge_lora", "trainable_parameters"]

# Module-name fragments of the vision encoder and its merger across the Qwen-VL families.
_VISION_MARKERS = ("visual", "vision_tower", "vision_model")


@dataclass
class LoraSettings:
    """LoRA hyper-parameters (TEMPLE DPO: r 32, alpha 64, all linear layers, vision frozen)."""

    enabled: bool = field(default=True, metadata={"help": "train a LoRA adapter (else: full fine-tune)"})
    r: int = field(default=32, metadata={"min": 1, "help": "LoRA rank"})
    alpha: int = field(default=64, metadata={"help": "LoRA alpha"})
    dropout: float = field(default=0.05, metadata={"min": 0, "help": "LoRA dropout"})
    target_modules: str = field(default="all-linear", metadata={"help": "PEFT target modules"})
    train_vision: bool = field(default=False, metadata={"help": "also adapt / train the vision tower"})


def _is_vision(name: str) -> bool:
    return any(m in name.split(".") for m in _VISION_MARKERS)


def freeze_vision(model: Any) -> int:
    """Set ``requires_grad=False`` on every vision-tower parameter; returns how many tensors were frozen."""
    n = 0
    for name, p in model.named_parameters():
        if _is_vision(name):
            p.requires_grad_(False)
            n += 1
    return n


def apply_lora(model: Any, settings: LoraSettings) -> Any:
    """Wrap ``model`` in a PEFT LoRA adapter on the language model's linear layers (vision excluded
    unless ``train_vision``); the lm head and embeddings are never adapted."""
    if not settings.enabled:
        if not settings.train_vision:
            freeze_vision(model)
        return model
    from peft import LoraConfig, get_peft_model

    targets: Any = settings.target_modules
    if targets == "all-linear":
        import torch

        names = set()
        for name, module in model.named_modules():
            is_target = isinstance(module, torch.nn.Linear) and "lm_head" not in name
            if is_target and (settings.train_vision or not _is_vision(name)):
                names.add(name)
        targets = sorted(names)
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=targets, bias="none")
    peft_model = get_peft_model(model, config)
    if settings.train_vision:
        for name, p in peft_model.named_parameters():
            if _is_vision(name) and "lora_" not in name:
                p.requires_grad_(False)
    return peft_model


def merge_lora(model: Any) -> Any:
    """Fold a PEFT adapter into the base weights and return the plain model (no-op without adapter)."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def trainable_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return train, total

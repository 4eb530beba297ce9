"""Sizes of a demo run. ``tiny`` is what ``make demo`` runs (under 15 minutes on 2 CPU cores); ``smoke``
is a one-minute version for the test suite (it shows the wiring, not learning)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["PRESETS", "DemoConfig", "demo_preset"]


@dataclass
class DemoConfig:
    """Everything a demo run decides; recorded in ``summary.json``."""

    seed: int = 0
    family: str = field(default="qwen2_5_vl", metadata={"help": "tiny model family"})
    train_videos: int = 160
    heldout_videos: int = 32
    fps: float = 1.0
    max_frames: int = 16
    base_steps: int = 700
    base_batch: int = 16
    base_lr: float = 3e-3
    stage_steps: int = 20
    stage_batch: int = 8
    dpo_lr: float = 1e-3
    sft_steps: int = 30
    eval_queries: int = 64
    eval_pairs: int = 64
    curate_videos: int = 12


PRESETS: dict[str, DemoConfig] = {
    "tiny": DemoConfig(),
    "smoke": DemoConfig(train_videos=12, heldout_videos=6, base_steps=6, base_batch=4, stage_steps=2,
                        stage_batch=2, sft_steps=2, eval_queries=6, eval_pairs=6, curate_videos=3, max_frames=8),
}


def demo_preset(name: str, seed: int = 0) -> DemoConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown demo preset {name!r}; known: {', '.join(PRESETS)}")
    return replace(PRESETS[name], seed=seed)

"""Sizes of a demo run. The demo runs the TEMPLE study's method arm at the study's own sizes (``tiny`` uses
the study's ``quick`` preset, ``smoke`` its seconds-long one), so what the demo prints is what
``tempoforge study temple`` measures."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["PRESETS", "DemoConfig", "demo_preset"]


@dataclass
class DemoConfig:
    """Everything a demo run decides; recorded in ``summary.json``."""

    seed: int = 0
    family: str = field(default="qwen2_5_vl", metadata={"help": "tiny model family"})
    study: str = field(default="quick", metadata={"help": "the TEMPLE study preset whose sizes the demo uses"})
    curate_videos: int = 12

    def temple_preset(self) -> Any:
        """The ``study.temple.TemplePreset`` the demo's world, base model, TEMPLE run and evaluation use."""
        from tempoforge.study.temple import PRESETS as STUDY_PRESETS

        return STUDY_PRESETS[self.study]


PRESETS: dict[str, DemoConfig] = {
    "tiny": DemoConfig(),
    "smoke": DemoConfig(study="smoke", curate_videos=3),
}


def demo_preset(name: str, seed: int = 0) -> DemoConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown demo preset {name!r}; known: {', '.join(PRESETS)}")
    return replace(PRESETS[name], seed=seed)

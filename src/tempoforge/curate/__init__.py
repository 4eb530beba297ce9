"""Curation: raw videos -> shots, runs, keyframes, adaptive frames and frame grids (METHODS.md 1.1, 2.1, 4).

``tempoforge curate --in DIR --out DIR --config configs/curate/temple.yaml`` runs the steps listed in the
config (``CurateConfig.steps``) on every video; see ``pipeline.curate``.
"""

from tempoforge.curate.config import CurateConfig
from tempoforge.curate.record import CurationRecord, Keyframe, Run, SelectedFrame, Shot
from tempoforge.curate.registry import STEPS, Drop, StepContext, get_step, register_step

__all__ = [
    "STEPS",
    "CurateConfig",
    "CurationRecord",
    "Drop",
    "Keyframe",
    "Run",
    "SelectedFrame",
    "Shot",
    "StepContext",
    "get_step",
    "register_step",
]

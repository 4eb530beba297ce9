"""Curation: raw videos -> shots, runs, keyframes, adaptive frames and frame grids (METHODS.md 1.1, 2.1, 4).

``tempoforge curate --in DIR --out DIR --config configs/curate/temple.yaml`` runs the steps listed in the
config (``CurateConfig.steps``) on every video; see ``pipeline.curate``.
"""

from typing import TYPE_CHECKING

from tempoforge.lazy import lazy_exports

if TYPE_CHECKING:
    from tempoforge.curate.config import CurateConfig
    from tempoforge.curate.record import CurationRecord, Keyframe, Run, SelectedFrame, Shot
    from tempoforge.curate.registry import STEPS, Drop, StepContext, get_step, register_step

# each public name -> the module that defines it, imported on first use
# (so `tempoforge.curate.commands` imports no numpy)
_EXPORTS = {
    "CurateConfig": "config",
    "CurationRecord": "record",
    "Keyframe": "record",
    "Run": "record",
    "SelectedFrame": "record",
    "Shot": "record",
    "STEPS": "registry",
    "Drop": "registry",
    "StepContext": "registry",
    "get_step": "registry",
    "register_step": "registry",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

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

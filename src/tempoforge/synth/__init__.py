"""Synthesis: training data from videos and their annotations.

``perturb`` (temporal perturbations with difficulty r, TEMPLE), factorized negatives (D2VLM), masked
events and teachers (TEMPURA), irrelevant queries (Tempo-R0).
"""

from typing import TYPE_CHECKING

from tempoforge.lazy import lazy_exports

if TYPE_CHECKING:
    from tempoforge.synth.perturb import PERTURBATIONS, perturb

# each public name -> the module that defines it, imported on first use
# (so `tempoforge.synth.commands` imports no pydantic)
_EXPORTS = {
    "PERTURBATIONS": "perturb",
    "perturb": "perturb",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["PERTURBATIONS", "perturb"]

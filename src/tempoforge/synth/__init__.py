"""Synthesis: training data from videos and their annotations.

``perturb`` (temporal perturbations with difficulty r, TEMPLE), factorized negatives (D2VLM), masked
events and teachers (TEMPURA), irrelevant queries (Tempo-R0).
"""

from tempoforge.synth.perturb import PERTURBATIONS, perturb

__all__ = ["PERTURBATIONS", "perturb"]

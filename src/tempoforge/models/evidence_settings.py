"""D2VLM's evidence-token settings, torch-free (``train d2vlm --help`` reads them; ``evidence.py`` uses them)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EvidenceSettings"]


@dataclass
class EvidenceSettings:
    """Evidence-token hyper-parameters (METHODS.md 3.2; D2VLM's released values as defaults)."""

    inject_layer: int = field(default=6, metadata={"help": "hidden_states index of the injected frame features "
                                                          "(0 = embeddings; the authors use 6)"})
    gnd_weight: float = field(default=10.0, metadata={"help": "weight of the grounding BCE loss"})
    cons_weight: float = field(default=10.0, metadata={"help": "weight of the L1 consistency loss (0 = ablation)"})
    inject: bool = field(default=True, metadata={"help": "add the span's frame features to each <evi> "
                                                         "embedding (False = 'no visual semantics' ablation)"})
    threshold: float = field(default=0.6, metadata={"help": "inference: keep units with p >= threshold * max p"})

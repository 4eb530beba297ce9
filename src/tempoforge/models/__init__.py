"""Loading Qwen-family video LLMs and turning videos into model inputs with time right by construction.

- ``families.py``   the supported model types and their quirks, in one table
- ``load.py``       ``load(path, dtype=, device=, attn_implementation=, adapter=)`` -> ``LoadedModel``
- ``tiny.py``       ``build_tiny(model_type, out_dir=None, seed=0)``: random tiny models + BPE tokenizer, offline
- ``real.py``       ``init_real(family, size, out_dir, layers=)``: the published architectures (``real_archs.py``)
                    at random init, optionally cut in depth, with an offline tokenizer (real special-token ids)
- ``tensorize.py``  torch-only frames -> ``pixel_values`` / ``grid_thw`` (the Qwen processors' math)
- ``positions.py``  M-RoPE position ids the original way, from the actual frame times
- ``video.py``      ``VideoSettings`` + ``load_frames``: the one path from a video file to frames (uniform or
                    SAA selection, cached), shared by training, ``predict`` and the D2VLM generator
- ``inputs.py``     ``build_example`` / ``collate`` / ``build_batch``: (prompt, Frames, timestamp strategy) -> batch,
                    laid out from the strategy's entry in ``tempoforge.timestamps``
- ``logps.py``      token and sequence log-probs from logits; ``truncate_to_prompt``
- ``prompts.py``    prompt templates per benchmark (snapshot-tested)
- ``processor.py``  stock-compatible processors without torchvision (for APIs that need one)
- ``predict.py``    ``tempoforge predict``; ``doctor.py`` ``tempoforge doctor``; ``commands.py`` the CLI

Heavy modules (torch, transformers) are imported on first use of a name below.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LoadedModel": "load",
    "load": "load",
    "build_tiny": "tiny",
    "init_real": "real",
    "build_example": "inputs",
    "build_batch": "inputs",
    "collate": "inputs",
    "Example": "inputs",
    "VisionSpec": "tensorize",
    "tensorize_video": "tensorize",
    "tensorize_images": "tensorize",
    "get_family": "families",
    "VideoSettings": "video",
    "load_frames": "video",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"tempoforge.models.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tempoforge.models' has no attribute {name!r}")

"""Shot embeddings from an image encoder in a local model directory (SigLIP, CLIP, ...).

METHODS.md 1.1.3: one embedding per shot from its middle frame; the authors use SigLIP so400m-patch14-384,
L2-normalised. The model loads with ``local_files_only=True`` (no hub access) and
``trust_remote_code=False``; it is kept once per process. Any ``transformers`` model with
``get_image_features`` works.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from tempoforge.errors import UserError

__all__ = ["encode_images"]


@lru_cache(maxsize=2)
def _load(model_dir: str) -> tuple[Any, Any]:
    from transformers import AutoImageProcessor, AutoModel

    try:
        model = AutoModel.from_pretrained(model_dir, local_files_only=True, trust_remote_code=False)
        processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True, backend="pil")
    except (OSError, ValueError) as exc:
        raise UserError(f"embed_model {model_dir}: cannot load an image encoder ({exc})") from None
    if not hasattr(model, "get_image_features"):
        raise UserError(f"embed_model {model_dir}: {type(model).__name__} has no get_image_features")
    return model.eval(), processor


def encode_images(model_dir: str, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """``(N, D)`` L2-normalised image features of ``images`` (uint8 ``(N, H, W, 3)`` RGB)."""
    import torch

    model, processor = _load(model_dir)
    feats = []
    with torch.inference_mode():
        for lo in range(0, len(images), batch_size):
            inputs = processor(images=list(images[lo:lo + batch_size]), return_tensors="pt")
            out = model.get_image_features(**inputs)
            feats.append((out if isinstance(out, torch.Tensor) else out.pooler_output).float().numpy())
    emb = np.concatenate(feats, axis=0)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

"""What a memory plan needs to know about a model and a video: parameter counts, widths, token counts.

Parameters are counted on PyTorch's ``meta`` device (no memory, ~1-3 s for an 8B architecture), so the
counts are the architecture's own, tied embeddings counted once. Video token counts run the same resize
rules as the tensorizer (``models/tensorize.py``) on an assumed source frame size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tempoforge.models.families import get_family
from tempoforge.models.tensorize import VisionSpec, smart_resize, smart_resize_total
from tempoforge.timestamps import get_strategy

__all__ = ["ModelShape", "VideoTokens", "model_shape", "video_tokens"]

_VISION_MARKERS = ("visual", "vision_tower", "vision_model")


@dataclass(frozen=True)
class ModelShape:
    """Parameter counts and widths of one architecture."""

    params: int  # every parameter, tied ones once
    vision_params: int  # vision tower incl. merger
    lm_head_params: int  # 0 when tied to the embeddings
    layer_params: int  # one decoder layer
    vision_block_params: int
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    vision_depth: int
    vision_hidden: int
    vision_intermediate: int
    # (is_vision, in_features, out_features) of every nn.Linear except the LM head: what LoRA can adapt
    linears: tuple[tuple[bool, int, int], ...]

    def lora_params(self, r: int, train_vision: bool) -> int:
        """Parameters of a rank-``r`` LoRA on every linear layer (the vision tower's too if ``train_vision``)."""
        return sum(r * (i + o) for vis, i, o in self.linears if train_vision or not vis)

    def trainable(self, lora: bool, r: int, train_vision: bool) -> int:
        """Trainable parameters: the LoRA's, or every parameter (the vision tower's only if ``train_vision``)."""
        if lora:
            return self.lora_params(r, train_vision)
        return self.params if train_vision else self.params - self.vision_params


def _is_vision(name: str) -> bool:
    return any(m in name.split(".") for m in _VISION_MARKERS)


def model_shape(config: Any) -> ModelShape:
    """Count ``config``'s parameters on the meta device and read its widths."""
    import torch
    import transformers

    fam = get_family(config.model_type)
    with torch.device("meta"):
        model = getattr(transformers, fam.model_class)._from_config(config)
    params = vision = layer = block = 0
    linears = []
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        params += p.numel()
        if _is_vision(name):
            vision += p.numel()
            if ".blocks.0." in name:
                block += p.numel()
        elif ".layers.0." in name:
            layer += p.numel()
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear) and "lm_head" not in name:
            linears.append((_is_vision(name), m.in_features, m.out_features))
    tc, vc = config.get_text_config(), config.vision_config
    tied = model.lm_head.weight is model.get_input_embeddings().weight
    heads = int(tc.num_attention_heads)
    return ModelShape(
        params=params, vision_params=vision, lm_head_params=0 if tied else model.lm_head.weight.numel(),
        layer_params=layer, vision_block_params=block, layers=int(tc.num_hidden_layers), hidden=int(tc.hidden_size),
        intermediate=int(tc.intermediate_size), heads=heads, kv_heads=int(tc.num_key_value_heads),
        head_dim=int(getattr(tc, "head_dim", None) or tc.hidden_size // heads), vocab=int(tc.vocab_size),
        vision_depth=int(vc.depth), vision_hidden=int(getattr(vc, "embed_dim", None) or vc.hidden_size),
        vision_intermediate=int(getattr(vc, "intermediate_size", 0) or
                                int(getattr(vc, "mlp_ratio", 4) * (getattr(vc, "embed_dim", None) or vc.hidden_size))),
        linears=tuple(linears),
    )


@dataclass(frozen=True)
class VideoTokens:
    """How one sampled video enters the model."""

    frames: int
    size: tuple[int, int]  # (height, width) after every resize
    lm_tokens: int  # language-model tokens of the video, vision markers included
    vision_rows: int  # patch rows into the vision tower

    @property
    def tokens_per_frame(self) -> float:
        return self.lm_tokens / max(1, self.frames)


def video_tokens(spec: VisionSpec, frames: int, timestamps: str, *, max_pixels: int | None = None,
                 source: tuple[int, int] = (720, 1280), marker_tokens: int = 6,
                 native_text_timestamps: bool = False) -> VideoTokens:
    """Tokens of ``frames`` frames of a ``source`` (height, width) video under the strategy ``timestamps``.

    ``max_pixels`` (``VideoSettings.max_pixels``) caps the decoded frame (aspect kept) and the tensorizer's
    resize (as ``build_example(max_pixels=)``); without it the checkpoint's video pixel limits apply.
    ``marker_tokens``: tokens of one marker text (``<12.5 seconds>``) before a block, where the strategy
    writes one. The layout is the strategy's (``tempoforge.timestamps``), as ``models/inputs.py`` builds it.
    """
    h, w = source
    if max_pixels is not None and h * w > max_pixels:  # io.convert.output_size
        scale = math.sqrt(max_pixels / (h * w))
        h, w = max(2, int(h * scale) // 2 * 2), max(2, int(w * scale) // 2 * 2)
    lo, hi = spec.video_min_pixels, spec.video_max_pixels if max_pixels is None else max_pixels
    if spec.budget == "total" and max_pixels is None:
        rh, rw = smart_resize_total(frames, h, w, spec.factor, lo, hi, spec.temporal_patch_size)
    else:
        rh, rw = smart_resize(h, w, spec.factor, min(lo, hi), hi)
    gh, gw = rh // spec.patch_size, rw // spec.patch_size
    per_group = gh * gw // spec.merge_size**2
    strategy = get_strategy(timestamps).for_family(native_text_timestamps)
    marker = marker_tokens if strategy.marker is not None else 0
    if strategy.layout == "images":  # each frame its own image: [marker] <start> tokens <end>
        return VideoTokens(frames, (rh, rw), frames * (per_group + 2 + marker), frames * gh * gw)
    groups = math.ceil(frames / spec.temporal_patch_size)
    rows = groups * gh * gw
    if strategy.layout == "video":  # one block: <start> tokens <end>
        return VideoTokens(frames, (rh, rw), groups * per_group + 2, rows)
    return VideoTokens(frames, (rh, rw), groups * (per_group + 2 + marker), rows)  # one block per patch

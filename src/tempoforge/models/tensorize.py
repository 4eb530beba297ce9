"""Frames to Qwen vision inputs with torch only: resize to the patch grid, normalise, patchify.

transformers 5.x gates every Qwen *video* processor behind torchvision, which has no CPU build here
(DESIGN.md "Platform facts"). This module reproduces the processors' math:

1. ``smart_resize``: round height and width to multiples of ``factor = patch_size * merge_size`` and keep
   the pixel count within ``[min_pixels, max_pixels]`` (per frame for Qwen2/2.5-VL; Qwen3-VL's video
   processor budgets the pixels of *all* frames together, ``budget="total"``).
2. resize ``uint8 -> uint8`` with bicubic interpolation: ``resample="torch"`` = torch's antialiased uint8
   bicubic kernel (what torchvision runs for the stock video processors on CPU), ``resample="pil"`` = PIL
   bicubic, exactly the stock PIL image processor;
3. rescale by 1/255 and normalise ``(x - mean) / std`` in float32 with the stock PIL image processor's
   rounding, so frames that need no resize (and every frame with ``resample="pil"``) match it bit for bit;
4. repeat the last frame until the count is a multiple of ``temporal_patch_size`` (as the video processors
   do), then patchify to rows of ``C * temporal_patch_size * patch_size**2`` in the order the vision
   tower expects: ``(t, h/merge, w/merge, merge, merge)`` rows, ``(C, temporal, patch, patch)`` columns.

``grid_thw`` is ``(frames / temporal_patch_size, height / patch_size, width / patch_size)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from tempoforge.errors import UserError

__all__ = ["Tensorized", "VisionSpec", "smart_resize", "smart_resize_total", "tensorize_images", "tensorize_video"]

Resample = Literal["torch", "pil"]


@dataclass(frozen=True)
class VisionSpec:
    """The preprocessing constants of one checkpoint (from its ``preprocessor_config.json``)."""

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 1280
    video_min_pixels: int = 128 * 28 * 28
    video_max_pixels: int = 28 * 28 * 768
    budget: Literal["per_frame", "total"] = "per_frame"
    image_mean: tuple[float, ...] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, ...] = (0.26862954, 0.26130258, 0.27577711)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size

    @classmethod
    def from_configs(cls, image_cfg: dict[str, Any], video_cfg: dict[str, Any] | None = None,
                     budget: Literal["per_frame", "total"] = "per_frame") -> VisionSpec:
        """Read the stock ``preprocessor_config.json`` / ``video_preprocessor_config.json`` dicts."""
        def pixels(cfg: dict[str, Any], default_min: int, default_max: int) -> tuple[int, int]:
            size = cfg.get("size") or {}
            lo = cfg.get("min_pixels", size.get("shortest_edge", default_min))
            hi = cfg.get("max_pixels", size.get("longest_edge", default_max))
            return int(lo), int(hi)

        base = cls()
        patch = int(image_cfg.get("patch_size", base.patch_size))
        lo, hi = pixels(image_cfg, base.min_pixels, base.max_pixels)
        vcfg = video_cfg or {}
        vlo, vhi = pixels(vcfg, base.video_min_pixels if video_cfg is None else lo,
                          base.video_max_pixels if video_cfg is None else hi)
        return cls(
            patch_size=patch,
            temporal_patch_size=int(image_cfg.get("temporal_patch_size", 2)),
            merge_size=int(image_cfg.get("merge_size", 2)),
            min_pixels=lo,
            max_pixels=hi,
            video_min_pixels=vlo,
            video_max_pixels=vhi,
            budget=budget,
            image_mean=tuple(float(x) for x in image_cfg.get("image_mean", base.image_mean)),
            image_std=tuple(float(x) for x in image_cfg.get("image_std", base.image_std)),
        )


@dataclass
class Tensorized:
    """``pixel_values`` rows and the ``grid_thw`` of each visual (one row per image/video)."""

    pixel_values: torch.Tensor  # (sum of t*h*w, C * temporal_patch_size * patch_size**2) float32
    grid_thw: torch.Tensor  # (num_visuals, 3) int64
    resized: tuple[int, int]  # (height, width) the frames were resized to


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL ``smart_resize``: sides multiple of ``factor``, area in ``[min_pixels, max_pixels]``."""
    if min(height, width) <= 0:
        raise UserError(f"cannot resize an empty frame ({height}x{width})")
    if max(height, width) / min(height, width) > 200:
        raise UserError(f"absolute aspect ratio must be smaller than 200, got {height}x{width}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def smart_resize_total(num_frames: int, height: int, width: int, factor: int, min_pixels: int, max_pixels: int,
                       temporal_factor: int = 2) -> tuple[int, int]:
    """Qwen3-VL video ``smart_resize``: the pixel budget covers all ``num_frames`` frames together."""
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise UserError(f"absolute aspect ratio must be smaller than 200, got {height}x{width}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = max(temporal_factor, round(num_frames / temporal_factor) * temporal_factor)
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _as_uint8_nchw(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A new contiguous uint8 ``(N, 3, H, W)`` tensor (one copy; the input, maybe a read-only cached array,
    is never shared or written)."""
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise UserError(f"frames must have shape (N, H, W, 3), got {tuple(frames.shape)}")
    if isinstance(frames, np.ndarray):
        if frames.dtype != np.uint8:
            raise UserError(f"frames must be uint8, got {frames.dtype}")
        return torch.from_numpy(np.array(frames.transpose(0, 3, 1, 2), order="C"))  # a copy even when contiguous
    if frames.dtype != torch.uint8:
        raise UserError(f"frames must be uint8, got {frames.dtype}")
    return frames.permute(0, 3, 1, 2).contiguous()


def _resize(x: torch.Tensor, size: tuple[int, int], resample: Resample) -> torch.Tensor:
    """Resize uint8 ``(N, C, H, W)`` to ``size = (h, w)``, returning uint8."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if resample == "pil":
        from PIL import Image

        out = [np.asarray(Image.fromarray(f.permute(1, 2, 0).numpy()).resize((size[1], size[0]), Image.Resampling.BICUBIC))
               for f in x]
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()
    # torch's native uint8 antialiased bicubic kernel (what torchvision's resize runs for uint8 on CPU)
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False)


def _normalize_rows(rows: torch.Tensor, spec: VisionSpec) -> torch.Tensor:
    """uint8 patch rows -> float32 ``(x / 255 - mean) / std``, bit-identical to the stock PIL processor.

    The stock path computes ``float32(x * (1/255) in float64)``; for every uint8 ``x`` that equals
    ``float32(x) / 255`` in float32 (checked in the tests), so the pass stays in float32 and in place.
    Normalising after patchifying touches the float data once (the permuting copy is done on uint8).
    """
    c = len(spec.image_mean)
    mean = torch.tensor(spec.image_mean, dtype=torch.float32).view(1, c, 1)
    std = torch.tensor(spec.image_std, dtype=torch.float32).view(1, c, 1)
    out = rows.to(torch.float32).div_(255)
    out.view(out.shape[0], c, -1).sub_(mean).div_(std)
    return out


def _patchify(x: torch.Tensor, spec: VisionSpec) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """``(T, C, H, W)`` (any dtype) with ``T % temporal_patch_size == 0`` to patch rows and ``(t, h, w)``."""
    tp, p, m = spec.temporal_patch_size, spec.patch_size, spec.merge_size
    n, c, h, w = x.shape
    gt, gh, gw = n // tp, h // p, w // p
    x = x.reshape(gt, tp, c, gh // m, m, p, gw // m, m, p)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape(gt * gh * gw, c * tp * p * p), (gt, gh, gw)


def _target_size(h: int, w: int, n: int, spec: VisionSpec, video: bool,
                 max_pixels: int | None) -> tuple[int, int]:
    if video:
        lo, hi = spec.video_min_pixels, spec.video_max_pixels if max_pixels is None else max_pixels
        if spec.budget == "total" and max_pixels is None:
            return smart_resize_total(n, h, w, spec.factor, lo, hi, spec.temporal_patch_size)
        return smart_resize(h, w, spec.factor, min(lo, hi), hi)
    hi = spec.max_pixels if max_pixels is None else max_pixels
    return smart_resize(h, w, spec.factor, min(spec.min_pixels, hi), hi)


def tensorize_video(frames: np.ndarray | torch.Tensor, spec: VisionSpec, *, resample: Resample = "torch",
                    max_pixels: int | None = None) -> Tensorized:
    """One video ``(N, H, W, 3)`` uint8 -> ``pixel_values_videos`` rows and ``video_grid_thw`` ``(1, 3)``.

    ``max_pixels`` overrides the per-frame pixel cap of the checkpoint (e.g. for a memory budget).
    """
    x = _as_uint8_nchw(frames)
    if x.shape[0] == 0:
        raise UserError("cannot tensorize a video with no frames")
    size = _target_size(x.shape[2], x.shape[3], x.shape[0], spec, True, max_pixels)
    x = _resize(x, size, resample)
    rem = (-x.shape[0]) % spec.temporal_patch_size
    if rem:
        x = torch.cat([x, x[-1:].expand(rem, -1, -1, -1)], dim=0)
    rows, grid = _patchify(x, spec)
    return Tensorized(_normalize_rows(rows, spec), torch.tensor([grid], dtype=torch.int64), size)


def tensorize_images(frames: np.ndarray | torch.Tensor, spec: VisionSpec, *, resample: Resample = "torch",
                     max_pixels: int | None = None, video_sizing: bool = True) -> Tensorized:
    """Each frame as its own image (grid ``(1, h, w)``), the frame repeated over the temporal patch.

    ``video_sizing`` (default) resizes with the video pixel limits so that a frame costs the same tokens
    as in a video; ``False`` uses the image limits, as the stock image processor does.
    """
    x = _as_uint8_nchw(frames)
    if x.shape[0] == 0:
        raise UserError("cannot tensorize zero images")
    if video_sizing:
        size = _target_size(x.shape[2], x.shape[3], x.shape[0], spec, True, max_pixels)
    else:
        size = _target_size(x.shape[2], x.shape[3], 1, spec, False, max_pixels)
    x = _resize(x, size, resample)
    n, tp = x.shape[0], spec.temporal_patch_size
    # every frame repeated over the temporal patch: the rows of n one-patch videos, group-major
    rows, (_, gh, gw) = _patchify(x.unsqueeze(1).expand(n, tp, *x.shape[1:]).reshape(n * tp, *x.shape[1:]), spec)
    grids = torch.tensor([[1, gh, gw]] * n, dtype=torch.int64)
    return Tensorized(_normalize_rows(rows, spec), grids, size)

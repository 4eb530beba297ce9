"""Temporal IoU: the one place IoU is computed (DESIGN.md principle 9; METRICS.md sections 1-4).

Every scorer in the field divides the intersection by something slightly different, and those differences
change published numbers, so each variant is a separate, named function. All are vectorised numpy and take
``(..., 2)`` arrays (or pairs) of ``[start, end]`` seconds; the ``*_matrix`` forms return ``(N, M)``.
Nothing is clipped or reordered: a reversed window keeps its negative length, exactly as the scorers do.

- :func:`iou_union` — ``inter / (len_p + len_g - inter)`` in float64 (moment_detr, E.T.Bench formula).
- :func:`iou_union_f32` — the same formula evaluated in float32 in torch's operation order
  (``nncore.ops.temporal_iou`` on ``torch.Tensor``): ``[0, 7]`` vs ``[0, 10]`` gives 0.69999999 < 0.7.
- :func:`iou_hull` — ``inter / (max e - min s)`` (lmms-eval, moment_detr R1 paired IoU).
- :func:`tiou_densevid` — ``inter / (min(hull, len1 + len2) + 1e-8)`` (ActivityNet densevid_eval, SODA).
- :func:`temporal_iou` — the common case for rewards and our own ``strict`` convention: float64 union IoU
  with non-finite results (two zero-length windows) mapped to 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "intersection",
    "iou_hull",
    "iou_hull_matrix",
    "iou_union",
    "iou_union_f32",
    "iou_union_f32_matrix",
    "iou_union_matrix",
    "temporal_iou",
    "temporal_iou_matrix",
    "tiou_densevid",
    "tiou_densevid_matrix",
]

F64 = NDArray[np.float64]


def _windows(x: ArrayLike | Sequence[Sequence[float]], dtype: type = np.float64) -> NDArray[np.floating]:
    arr: NDArray[np.floating] = np.asarray(x, dtype=dtype)
    if arr.shape[-1:] != (2,):
        raise ValueError(f"windows must have a last dimension of 2 ([start, end]), got shape {arr.shape}")
    return arr


def intersection(p: ArrayLike, g: ArrayLike) -> F64:
    """``max(0, min(p.e, g.e) - max(p.s, g.s))``, broadcast over leading dimensions."""
    p_, g_ = _windows(p), _windows(g)
    return np.maximum(0.0, np.minimum(p_[..., 1], g_[..., 1]) - np.maximum(p_[..., 0], g_[..., 0]))


def iou_union(p: ArrayLike, g: ArrayLike) -> F64:
    """``inter / (len_p + len_g - inter)`` in float64, lengths with sign kept (METRICS.md 1, step 3).

    Reversed windows have ``inter = 0`` so IoU 0 (or NaN when the denominator is 0); two zero-length
    windows give ``0/0 = NaN``, returned as NaN (callers decide, as their scorer does).
    """
    p_, g_ = _windows(p), _windows(g)
    inter = np.maximum(0.0, np.minimum(p_[..., 1], g_[..., 1]) - np.maximum(p_[..., 0], g_[..., 0]))
    union = (p_[..., 1] - p_[..., 0]) + (g_[..., 1] - g_[..., 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(inter / union, dtype=np.float64)


def iou_union_f32(p: ArrayLike, g: ArrayLike) -> NDArray[np.float32]:
    """Union IoU as ``nncore.ops.temporal_iou`` computes it on float32 ``torch.Tensor`` inputs.

    Inputs are rounded to float32 first, then ``area_a = e - s``, ``area_b``, ``inter = clamp(min e - max s,
    0)``, ``iou = inter / (area_a + area_b - inter)``, every step in float32 (IEEE round-to-nearest, the
    same as torch on CPU). So ``[0, 7]`` vs ``[0, 10]`` is ``float32(0.7) = 0.699999988`` and fails
    ``>= 0.7``. Non-finite results are returned as they are (NaN for two zero-length windows).
    """
    p_, g_ = _windows(p, np.float32), _windows(g, np.float32)
    area_p = p_[..., 1] - p_[..., 0]
    area_g = g_[..., 1] - g_[..., 0]
    inter = np.maximum(np.minimum(p_[..., 1], g_[..., 1]) - np.maximum(p_[..., 0], g_[..., 0]), np.float32(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(inter / ((area_p + area_g) - inter), dtype=np.float32)


def iou_hull(p: ArrayLike, g: ArrayLike, zero_hull: float | None = 0.0) -> F64:
    """``max(min e - max s, 0) / (max e - min s)`` in float64 (lmms-eval; moment_detr R1 paired IoU).

    The denominator is the hull, which equals the union whenever the windows overlap and is larger
    otherwise (the IoU is 0 then anyway, since ``inter = 0``). A hull ``<= 0`` gives ``zero_hull`` (0, as the
    lmms-eval harness returns); ``zero_hull=None`` divides regardless (NaN/inf, as the standalone script).
    """
    p_, g_ = _windows(p), _windows(g)
    inter = np.maximum(np.minimum(p_[..., 1], g_[..., 1]) - np.maximum(p_[..., 0], g_[..., 0]), 0.0)
    hull = np.maximum(p_[..., 1], g_[..., 1]) - np.minimum(p_[..., 0], g_[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = inter / hull
    if zero_hull is not None:
        out = np.where(hull <= 0, zero_hull, out)
    return np.asarray(out, dtype=np.float64)


def tiou_densevid(p: ArrayLike, g: ArrayLike) -> F64:
    """ActivityNet densevid_eval tIoU: ``inter / (min(hull, len_p + len_g) + 1e-8)`` (METRICS.md 3)."""
    p_, g_ = _windows(p), _windows(g)
    inter = np.maximum(0.0, np.minimum(p_[..., 1], g_[..., 1]) - np.maximum(p_[..., 0], g_[..., 0]))
    hull = np.maximum(p_[..., 1], g_[..., 1]) - np.minimum(p_[..., 0], g_[..., 0])
    union = np.minimum(hull, (p_[..., 1] - p_[..., 0]) + (g_[..., 1] - g_[..., 0]))
    return np.asarray(inter / (union + 1e-8), dtype=np.float64)


def temporal_iou(pred: ArrayLike, gt: ArrayLike) -> F64:
    """The common case: float64 union IoU, non-finite results (zero-length vs zero-length) set to 0.

    Used by our ``strict`` grounding convention and by the GRPO IoU reward, so training and scoring agree.
    """
    out = iou_union(pred, gt)
    return np.where(np.isfinite(out), out, 0.0)


def _pairwise(a: ArrayLike, b: ArrayLike, dtype: type = np.float64) -> tuple[NDArray[np.floating], ...]:
    a_ = _windows(a, dtype).reshape(-1, 2)
    b_ = _windows(b, dtype).reshape(-1, 2)
    return a_[:, None, :], b_[None, :, :]


def iou_union_matrix(a: ArrayLike, b: ArrayLike) -> F64:
    """``(N, M)`` :func:`iou_union` between every window of ``a`` and every window of ``b``."""
    x, y = _pairwise(a, b)
    return iou_union(x, y)


def iou_union_f32_matrix(a: ArrayLike, b: ArrayLike) -> NDArray[np.float32]:
    """``(N, M)`` :func:`iou_union_f32` (``nncore.ops.temporal_iou(a, b)`` on float32 tensors)."""
    x, y = _pairwise(a, b, np.float32)
    return iou_union_f32(x, y)


def iou_hull_matrix(a: ArrayLike, b: ArrayLike, zero_hull: float | None = 0.0) -> F64:
    """``(N, M)`` :func:`iou_hull`."""
    x, y = _pairwise(a, b)
    return iou_hull(x, y, zero_hull=zero_hull)


def tiou_densevid_matrix(a: ArrayLike, b: ArrayLike) -> F64:
    """``(N, M)`` :func:`tiou_densevid`."""
    x, y = _pairwise(a, b)
    return tiou_densevid(x, y)


def temporal_iou_matrix(a: ArrayLike, b: ArrayLike) -> F64:
    """``(N, M)`` :func:`temporal_iou`."""
    x, y = _pairwise(a, b)
    return temporal_iou(x, y)

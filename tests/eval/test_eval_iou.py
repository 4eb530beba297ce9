"""IoU variants: hand-computed values, float32 behaviour, hull vs union, pairwise forms."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.eval.metrics.iou import (
    intersection,
    iou_hull,
    iou_hull_matrix,
    iou_union,
    iou_union_f32,
    iou_union_f32_matrix,
    iou_union_matrix,
    temporal_iou,
    temporal_iou_matrix,
    tiou_densevid,
    tiou_densevid_matrix,
)


def test_union_iou_hand_values() -> None:
    # [2, 6] vs [4, 10]: inter 2, union 4 + 6 - 2 = 8 -> 0.25
    assert iou_union([2, 6], [4, 10]) == pytest.approx(0.25)
    # identical -> 1; disjoint -> 0
    assert iou_union([1, 3], [1, 3]) == 1.0
    assert iou_union([0, 1], [2, 3]) == 0.0
    assert intersection([2, 6], [4, 10]) == 2.0


def test_float32_union_makes_exact_0_7_miss() -> None:
    # [0, 7] vs [0, 10]: 7 / 10 = 0.7 exactly in float64, float32(0.7) = 0.699999988 in torch float32
    assert float(iou_union([0, 7], [0, 10])) >= 0.7
    f32 = iou_union_f32([0, 7], [0, 10])
    assert f32.dtype == np.float32
    assert float(f32) == pytest.approx(0.699999988079071, abs=1e-15)
    assert not float(f32) >= 0.7


def test_reversed_window_keeps_sign_and_gives_zero() -> None:
    # reversed [5, 3] vs [0, 10]: inter = max(0, 3 - 5) = 0 -> IoU 0 (not swapped)
    assert iou_union([5, 3], [0, 10]) == 0.0
    assert float(iou_union_f32([5, 3], [0, 10])) == 0.0
    # reversed pred [3, 1] vs [1, 3]: inter 0, union (-2) + 2 - 0 = 0 -> 0/0 = NaN
    assert np.isnan(iou_union([3, 1], [1, 3]))


def test_zero_length_windows_nan_union_and_zero_temporal_iou() -> None:
    assert np.isnan(iou_union([2, 2], [2, 2]))  # 0 / (0 + 0 - 0)
    assert temporal_iou([2, 2], [2, 2]) == 0.0  # our common case maps non-finite to 0


def test_hull_vs_union() -> None:
    # overlapping: hull equals union. [2, 6] vs [4, 10]: 2 / (10 - 2) = 0.25
    assert iou_hull([2, 6], [4, 10]) == pytest.approx(0.25)
    # disjoint [0, 2] vs [5, 6]: both 0, but the hull 6 is larger than the union 3
    assert iou_hull([0, 2], [5, 6]) == 0.0
    # zero hull: harness returns 0; standalone divides (0/0 = NaN)
    assert iou_hull([2, 2], [2, 2]) == 0.0
    assert np.isnan(iou_hull([2, 2], [2, 2], zero_hull=None))


def test_densevid_tiou() -> None:
    # [0, 5] vs [3, 8]: inter 2, min(hull 8, 5 + 5) = 8 -> 2 / (8 + 1e-8)
    assert tiou_densevid([0, 5], [3, 8]) == pytest.approx(2 / (8 + 1e-8), rel=1e-12)
    # reversed [8, 3] vs [0, 10]: inter 0
    assert tiou_densevid([8, 3], [0, 10]) == 0.0
    # containment [2, 4] in [0, 10]: 2 / min(10, 12) = 0.2
    assert tiou_densevid([2, 4], [0, 10]) == pytest.approx(0.2)


def test_pairwise_matrices_shape_and_values() -> None:
    a = [[0, 10], [5, 15]]
    b = [[0, 10], [10, 20], [0, 5]]
    m = iou_union_matrix(a, b)
    assert m.shape == (2, 3)
    # row 0: 1, 0, 5/10; row 1: 5/15, 5/15, 0
    np.testing.assert_allclose(m, [[1.0, 0.0, 0.5], [1 / 3, 1 / 3, 0.0]])
    np.testing.assert_allclose(iou_union_f32_matrix(a, b), m, rtol=1e-6)
    np.testing.assert_allclose(iou_hull_matrix(a, b), [[1.0, 0.0, 0.5], [1 / 3, 1 / 3, 0.0]])
    np.testing.assert_allclose(tiou_densevid_matrix(a, b), m, rtol=1e-7)
    np.testing.assert_allclose(temporal_iou_matrix(a, b), m)


def test_bad_shape_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="last dimension of 2"):
        iou_union([1, 2, 3], [1, 2])

"""Cluster-bootstrap intervals over held-out groups, by hand."""

from __future__ import annotations

import math

import pytest

from tempoforge.study.stats import bootstrap_difference, bootstrap_interval, mean_score


def test_mean_score_is_the_item_mean_not_the_group_mean() -> None:
    # items 1, 1, 0 | 0 -> 2 / 4 = 0.5 (the mean of group means would be (2/3 + 0) / 2 = 0.333)
    assert mean_score({"a": [1, 1, 0], "b": [0]}) == 0.5
    assert math.isnan(mean_score({}))


def test_two_groups_interval_by_hand() -> None:
    # groups a = [1], b = [0]: a resample draws two groups with replacement -> means 1 (aa, p = 1/4),
    # 0.5 (ab or ba, p = 1/2), 0 (bb, p = 1/4); the 2.5 % and 97.5 % percentiles are 0 and 1
    lo, hi = bootstrap_interval([{"a": [1.0], "b": [0.0]}], n_boot=4000)
    assert (lo, hi) == (0.0, 1.0)


def test_constant_scores_give_a_point_interval() -> None:
    per_seed = [{"a": [1.0, 1.0], "b": [1.0]}, {"a": [1.0], "b": [1.0, 1.0]}]
    assert bootstrap_interval(per_seed) == (1.0, 1.0)


def test_seeds_share_the_resample_and_are_averaged() -> None:
    # seed 1 scores every item 1, seed 2 every item 0: every resample's seed-mean is exactly 0.5
    lo, hi = bootstrap_interval([{"a": [1.0], "b": [1.0]}, {"a": [0.0], "b": [0.0]}])
    assert lo == hi == pytest.approx(0.5)


def test_paired_difference_by_hand() -> None:
    base = [{"a": [0.0], "b": [1.0], "c": [0.0]}]
    better = [{"a": [1.0], "b": [1.0], "c": [1.0]}]
    # point: 1 - 1/3 = 2/3; paired: per resample the difference is the share of a/c draws (each +1, b 0)
    d, lo, hi = bootstrap_difference(better, base, n_boot=4000)
    assert d == pytest.approx(2 / 3)
    # the difference of a resample is (#a + #c drawn) / 3 with #a + #c ~ Binomial(3, 2/3): P(0) = 1/27 = 3.7 %
    # > 2.5 %, so the lower percentile is 0; P(3) = 8/27 > 2.5 %, so the upper one is 1
    assert lo == 0.0 and hi == 1.0
    # an arm against itself: exactly 0 with a point interval
    assert bootstrap_difference(base, base) == (0.0, 0.0, 0.0)

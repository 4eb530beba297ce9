"""Tiny videos with a known answer for the training tests: a red square visible over a span."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempoforge.io import write_video


@pytest.fixture(scope="session")
def square_videos(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, float, float]]:
    """Four 8 s clips at 1 fps (56x56); in clip k the red square is visible over [1.5k, 1.5k + 3)."""
    root: Path = tmp_path_factory.mktemp("square")
    out = []
    for k in range(4):
        start, end = 1.5 * k, 1.5 * k + 3
        frames = []
        for i in range(8):
            img = np.zeros((56, 56, 3), np.uint8)
            if start <= i < end:
                img[10:40, 10:40] = (255, 0, 0)
            frames.append(img)
        out.append((str(write_video(root / f"v{k}.mp4", frames, 1)), start, end))
    return out

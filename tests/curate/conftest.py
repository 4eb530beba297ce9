"""Synthetic test videos with known hard cuts (numpy + ``tempoforge.io.encode.write_video``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from tempoforge.io.encode import write_video

# well-separated RGB backgrounds: every pair falls into different 4x4x4 histogram cells
PALETTE = {
    "red": (200, 30, 30), "green": (30, 190, 40), "blue": (30, 40, 200), "yellow": (220, 210, 40),
    "purple": (150, 40, 170), "cyan": (40, 200, 210), "orange": (230, 120, 20), "grey": (110, 110, 110),
}


def shot_frames(bg: str, n: int, *, width: int = 96, height: int = 64, moving: bool = True,
                textured: bool = False, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames on background ``bg``: an optional texture and a white square moving left to right."""
    rng = np.random.default_rng(seed)
    base = np.empty((height, width, 3), np.uint8)
    base[:] = PALETTE[bg]
    if textured:  # stripes and noise of +-25 around the colour (stays in the same histogram cells mostly)
        stripes = ((np.arange(width) // 6) % 2 * 20 - 10).astype(np.int16)
        noise = rng.integers(-12, 13, size=(height, width, 1), dtype=np.int16)
        base = np.clip(base.astype(np.int16) + stripes[None, :, None] + noise, 0, 255).astype(np.uint8)
    frames = []
    for i in range(n):
        img = base.copy()
        if moving:
            x = 4 + (i * 2) % (width - 20)
            img[20:36, x:x + 14] = 255
        frames.append(img)
    return frames


def make_video(path: Path, shots: Sequence[tuple[str, int]], *, fps: int = 25, static: Sequence[bool] | None = None,
               textured: bool = False) -> list[float]:
    """Write a video of ``shots`` = [(background, frames), ...]; returns the true cut times (seconds)."""
    frames: list[np.ndarray] = []
    cuts: list[float] = []
    for k, (bg, n) in enumerate(shots):
        if k:
            cuts.append(len(frames) / fps)
        moving = not (static[k] if static is not None else False)
        frames += shot_frames(bg, n, moving=moving, textured=textured, seed=k)
    write_video(path, frames, fps)
    return cuts


@pytest.fixture
def video_factory(tmp_path: Path) -> Callable[..., tuple[Path, list[float]]]:
    def factory(name: str, shots: Sequence[tuple[str, int]], **kw: object) -> tuple[Path, list[float]]:
        path = tmp_path / "videos" / name
        cuts = make_video(path, shots, **kw)  # type: ignore[arg-type]
        return path, cuts

    return factory


@pytest.fixture
def palette() -> list[str]:
    """Names of the synthetic backgrounds."""
    return list(PALETTE)

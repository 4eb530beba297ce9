"""Session-cached tiny models (all three families, saved and re-loaded like real checkpoints) and videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FAMILY_NAMES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tempoforge.models.tiny import build_tiny

    root = tmp_path_factory.mktemp("tiny_models")
    out = {}
    for name in FAMILY_NAMES:
        build_tiny(name, root / name, seed=0)
        out[name] = root / name
    return out


@pytest.fixture(scope="session")
def tiny_models(tiny_dirs: dict[str, Path]) -> dict[str, object]:
    from tempoforge.models.load import load

    return {name: load(path) for name, path in tiny_dirs.items()}


@pytest.fixture(params=FAMILY_NAMES)
def tiny(request: pytest.FixtureRequest, tiny_models: dict[str, object]) -> object:
    return tiny_models[request.param]


def moving_square_video(n: int = 24, fps: float = 4.0, size: tuple[int, int] = (64, 96)) -> np.ndarray:
    """``n`` RGB frames (H, W from ``size``) of a white square moving right over a dark background."""
    h, w = size
    frames = np.full((n, h, w, 3), 30, dtype=np.uint8)
    for i in range(n):
        x = int(i * (w - 16) / max(1, n - 1))
        frames[i, 24:40, x:x + 16] = 255
    return frames


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s, 4 fps H.264 video (24 frames of 96x64) written with tempoforge.io.encode.write_video."""
    from tempoforge.io.encode import write_video

    path = tmp_path_factory.mktemp("videos") / "square.mp4"
    write_video(path, moving_square_video(), 4.0)
    return path

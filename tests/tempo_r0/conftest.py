"""Fixtures for the Tempo-R0 tests: a small TempoWorld and short synthetic clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempoforge.io import write_video


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-video TempoWorld (tiny preset, seed 0); returns its folder."""
    from tempoforge.world import generate_world, preset_config

    root = tmp_path_factory.mktemp("tr0world") / "tw"
    cfg = preset_config("tiny")
    cfg.workers = 1
    generate_world(root, videos=6, seed=0, config=cfg, progress=False)
    return root


@pytest.fixture(scope="session")
def change_video(tmp_path_factory: pytest.TempPathFactory) -> str:
    """20 s at 2 fps (56x56): static grey for 0-10 s, then a new random image every frame over 10-20 s."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(40):
        if i < 20:
            frames.append(np.full((56, 56, 3), 100, np.uint8))
        else:
            frames.append(np.kron(rng.integers(0, 255, (7, 7, 3)), np.ones((8, 8, 1))).astype(np.uint8))
    path = tmp_path_factory.mktemp("tr0saa") / "change.mp4"
    return str(write_video(path, frames, 2))

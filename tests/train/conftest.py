"""Tiny videos with a known answer for the training tests: a red square visible over a span."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit import square_clip


@pytest.fixture(scope="session")
def square_videos(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, float, float]]:
    """Four 8 s clips at 1 fps (56x56); in clip k the red square is visible over [1.5k, 1.5k + 3)."""
    root: Path = tmp_path_factory.mktemp("square")
    spans = [(1.5 * k, 1.5 * k + 3) for k in range(4)]
    return [(square_clip(root / f"v{k}.mp4", s, e), s, e) for k, (s, e) in enumerate(spans)]

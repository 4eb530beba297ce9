"""Shared test fixtures: where the real reference data lives, temporary output folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository: real annotation files and small real videos (read-only)."""
    if not (SHARED_DIR / "datasets").is_dir():
        pytest.fail(f"reference data not found at {SHARED_DIR}; tests expect ../shared beside the repo")
    return SHARED_DIR


@pytest.fixture(scope="session")
def datasets_dir(shared_dir: Path) -> Path:
    return shared_dir / "datasets"


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and do not fight other processes for the 2 cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

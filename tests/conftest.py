"""Shared test fixtures: where the real reference data lives, temporary output folders."""

from __future__ import annotations

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

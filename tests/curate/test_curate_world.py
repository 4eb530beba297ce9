"""Shot accuracy on TempoWorld 'standard' videos, whose shot boundaries are known exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempoforge.curate.config import TEMPLE_STEPS, TEMPURA_STEPS, CurateConfig
from tempoforge.curate.pipeline import curate, process_video
from tempoforge.curate.shots import match_cuts


@pytest.mark.integration
def test_world_hard_cuts_f1_and_presets_run(tmp_path: Path) -> None:
    from tempoforge.world.config import preset_config
    from tempoforge.world.generate import generate_world

    world = generate_world(tmp_path / "world", 12, seed=0, config=preset_config("standard", workers=1), progress=False)
    cfg = CurateConfig(steps=["probe", "signals", "shots"], detector="adaptive", also_detect=["content"])
    tp = fp = fn = 0
    for script in world.scripts:
        rec = process_video({"id": script.id, "path": str(world.video_path(script.id))}, cfg, tmp_path / "out")
        tol = 1.0 / script.fps + 1e-6  # within one frame
        hard = [t.start for t in script.transitions if t.kind == "cut"]
        soft = [(t.start, t.end) for t in script.transitions if t.kind != "cut"]
        # detections inside a dissolve/fade are neither hits nor false alarms for the hard-cut score
        pred = [p for p in rec["record"]["cuts"]["adaptive"] if not any(a - tol <= p <= b + tol for a, b in soft)]
        a, b, c = match_cuts(pred, hard, tol)
        tp, fp, fn = tp + a, fp + b, fn + c
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    assert tp >= 10 and f1 >= 0.95, (tp, fp, fn)
    # both presets run on a TempoWorld folder (shorter videos than TEMPLE's 4 shots mostly get rejected)
    for steps in (TEMPLE_STEPS, TEMPURA_STEPS):
        res = curate(world.root / "videos", tmp_path / f"preset{len(steps)}", CurateConfig(steps=list(steps)),
                     progress=False)
        assert res.kept + res.rejected == 12
        assert "probe/error" not in res.stats["rejected_by_reason"]

"""The demo's curation stage: the TEMPURA-style preset (static filter, shots, adaptive frames, time-marked
frame grids) on a few TempoWorld videos, checked against their exact shot and static ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["curate_videos"]


def curate_videos(videos: list[Path], out: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Curate ``videos`` into ``out`` (kept.jsonl, rejected.jsonl, stats.json, grids/) and summarise."""
    from tempoforge.curate.config import CurateConfig
    from tempoforge.curate.pipeline import curate

    manifest = out / "videos.txt"
    manifest.write_text("".join(f"{v.resolve()}\n" for v in videos))
    cfg = CurateConfig(steps=["probe", "signals", "static", "shots", "saa", "grids"], detector="adaptive",
                       static_min_change=1.0, saa_frames=16, grid_fps=1.0, grid_tiles=16, grid_cols=4,
                       grid_tile_width=128)
    result = curate(manifest, out / "run", cfg, workers=1, progress=not quiet)
    return {"videos": result.total, "kept": result.kept, "rejected": result.rejected,
            "reasons": result.stats.get("rejected_by_reason", {}), "out": str(out / "run")}

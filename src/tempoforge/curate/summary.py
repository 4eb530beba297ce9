"""The lines ``tempoforge curate`` ends with: counts, and in plain words what removed everything or what to check.

Computed from ``stats.json`` (:func:`tempoforge.curate.pipeline.compute_stats`), so a resumed run says the same
as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["summary_lines"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_lines(stats: dict[str, Any], out: Path, total: int, skipped: int) -> list[str]:
    """``curate: ...`` lines for the user: the counts; when nothing was kept, which steps removed the videos
    (with an example reason); how many kept videos carry warnings."""
    kept, rejected = int(stats["kept"]), int(stats["rejected"])
    lines = [f"curate: {_plural(total, 'video')} ({skipped} already done): kept {kept}, rejected {rejected} -> {out}"]
    by_step: dict[str, int] = stats.get("rejected_by_step", {})
    if kept == 0 and rejected:
        ranked = sorted(by_step.items(), key=lambda kv: (-kv[1], kv[0]))
        example = stats.get("example_reason", {})
        if len(ranked) == 1:
            step, n = ranked[0]
            what = f"step '{step}' removed {'the only video' if n == 1 else f'all {n} videos'}"
        else:
            what = "every video was removed: " + ", ".join(f"{n} by step '{step}'" for step, n in ranked)
        first = ranked[0][0]
        why = f" (e.g. {example[first]})" if first in example else ""
        lines.append(f"curate: nothing was kept: {what}{why}; each video's reason is in {out / 'rejected.jsonl'}")
    warned = int(stats.get("kept_with_warnings", 0))
    if warned:
        lines.append(f"curate: {_plural(warned, 'kept video')} {'has' if warned == 1 else 'have'} warnings (e.g. "
                     f"{stats.get('example_warning', '')}); see the 'warnings' field in {out / 'kept.jsonl'}")
    return lines

"""The curation pipeline: inputs -> steps -> ``kept.jsonl`` / ``rejected.jsonl`` / ``stats.json``.

``process_video`` runs the configured steps on one video and never raises: a ``Drop`` or any error
(a broken file, a decoder failure) turns into a rejected record naming the step and the reason. It
returns JSON-ready dicts, so the same function runs in a local process pool or in Ray Data.

``curate`` is resumable: only the driver writes, one crash-safe append per finished video, and on start
it skips the ids already in ``kept.jsonl`` or ``rejected.jsonl``. A run killed at any moment and started
again therefore ends with the same records as an uninterrupted run (images are rewritten atomically).
Per-step times go to ``timings.jsonl`` (they differ between runs, so they stay out of the records).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tempoforge.config import config_to_dict
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.record import CurationRecord
from tempoforge.curate.registry import Drop, StepContext, get_step
from tempoforge.errors import UserError
from tempoforge.io.jsonl import append_jsonl, atomic_write_text, read_jsonl, repair_jsonl_tail

__all__ = ["VIDEO_SUFFIXES", "CurateResult", "curate", "list_inputs", "process_video"]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")
Runner = Callable[[list[dict[str, str]], CurateConfig, Path, int], Iterator[dict[str, Any]]]


def list_inputs(source: str | Path) -> list[dict[str, str]]:
    """``[{"id", "path"}]`` from a folder (videos found recursively; id = relative path) or a manifest.

    A manifest is a ``.jsonl`` file with a ``path`` (and optional ``id``) per line, or a ``.txt`` file with
    one path per line; relative paths are relative to the manifest's folder. Ids must be unique.
    """
    src = Path(source)
    items: list[dict[str, str]] = []
    if src.is_dir():
        for p in sorted(x for x in src.rglob("*") if x.is_file() and x.suffix.lower() in VIDEO_SUFFIXES):
            items.append({"id": p.relative_to(src).as_posix(), "path": str(p.resolve())})
    elif src.is_file() and src.suffix == ".jsonl":
        for lineno, obj in enumerate(read_jsonl(src), 1):
            if not isinstance(obj.get("path"), str):
                raise UserError(f"{src}:{lineno}: missing string field 'path'")
            p = (src.parent / obj["path"]).resolve()
            items.append({"id": str(obj.get("id") or obj["path"]), "path": str(p)})
    elif src.is_file():
        for line in src.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                p = (src.parent / line.strip()).resolve()
                items.append({"id": line.strip(), "path": str(p)})
    else:
        raise UserError(f"--in {src}: no such folder or manifest file")
    seen: Counter[str] = Counter(x["id"] for x in items)
    dups = sorted(k for k, n in seen.items() if n > 1)
    if dups:
        raise UserError(f"{src}: duplicate video ids {dups[:5]}")
    return items


def process_video(item: dict[str, str], config: CurateConfig, out_dir: Path) -> dict[str, Any]:
    """Run ``config.steps`` on one video. Returns ``{"record": ..., "timings": {...}}`` (JSON-ready)."""
    out_dir = Path(out_dir)
    rec = CurationRecord(id=item["id"], path=item["path"])
    ctx = StepContext(out_dir=out_dir, cache_dir=out_dir / "cache")
    timings: dict[str, float] = {}
    step = "start"
    try:
        for step in config.steps:
            spec = get_step(step)
            t0 = time.perf_counter()
            try:
                rec = spec.fn(rec, ctx, config)
            finally:
                timings[step] = round(time.perf_counter() - t0, 6)
        rec.status = "kept"
    except Drop as drop:
        rec = rec.model_copy(update={"status": "rejected", "step": step, "code": drop.code, "reason": drop.detail})
    except Exception as exc:  # a broken video must not stop the run: it is rejected with the reason
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        rec = rec.model_copy(update={"status": "rejected", "step": step, "code": "error",
                                     "reason": f"{type(exc).__name__}: {msg}"[:500]})
    return {"record": rec.to_json_dict(), "timings": {"id": rec.id, **timings}}


def run_sequential(items: list[dict[str, str]], config: CurateConfig, out_dir: Path, workers: int) -> Iterator[dict[str, Any]]:
    """The simplest runner: one video after the other in this process."""
    for item in items:
        yield process_video(item, config, out_dir)


@dataclass
class CurateResult:
    total: int
    kept: int
    rejected: int
    skipped: int  # already done by an earlier (interrupted) run
    stats: dict[str, Any]


def _done_ids(out: Path) -> set[str]:
    done: set[str] = set()
    for name in ("kept.jsonl", "rejected.jsonl"):
        p = out / name
        if p.exists():
            repair_jsonl_tail(p)
            done.update(str(obj["id"]) for obj in read_jsonl(p))
    repair_jsonl_tail(out / "timings.jsonl")
    return done


def compute_stats(out: Path) -> dict[str, Any]:
    """Counts per status and per ``step/code``, and total / mean seconds per step, from the output files."""
    kept = list(read_jsonl(out / "kept.jsonl")) if (out / "kept.jsonl").exists() else []
    rejected = list(read_jsonl(out / "rejected.jsonl")) if (out / "rejected.jsonl").exists() else []
    reasons = Counter(f"{r.get('step')}/{r.get('code')}" for r in rejected)
    seconds: dict[str, list[float]] = defaultdict(list)
    if (out / "timings.jsonl").exists():
        for row in read_jsonl(out / "timings.jsonl"):
            for k, v in row.items():
                if k != "id":
                    seconds[k].append(float(v))
    return {
        "videos": len(kept) + len(rejected),
        "kept": len(kept),
        "rejected": len(rejected),
        "rejected_by_reason": dict(sorted(reasons.items())),
        "keyframes": sum(len(r.get("keyframes", [])) for r in kept),
        "seconds_per_step": {k: {"total": round(sum(v), 3), "mean": round(sum(v) / len(v), 4), "videos": len(v)}
                             for k, v in seconds.items()},
    }


def curate(source: str | Path, out_dir: str | Path, config: CurateConfig, *, runner: Runner | None = None,
           workers: int = 1, progress: bool = True, on_result: Callable[[dict[str, Any]], None] | None = None) -> CurateResult:
    """Curate every video of ``source`` into ``out_dir``; resumes where an earlier run stopped."""
    from tqdm import tqdm

    for name in config.steps:
        get_step(name)  # unknown step names fail before any work
    items = list_inputs(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config_text = json.dumps(config_to_dict(config), indent=2) + "\n"
    done = _done_ids(out)
    previous = out / "config.json"
    if done and previous.exists() and json.loads(previous.read_text()) != json.loads(config_text):
        raise UserError(f"{out} holds results of a run with another config ({previous}); "
                        "resume with the same config or use a new --out")
    atomic_write_text(previous, config_text)
    todo = [x for x in items if x["id"] not in done]
    run = runner or (run_sequential if workers <= 1 else _default_pool)
    counts = Counter[str]()
    with tqdm(total=len(items), initial=len(items) - len(todo), unit="video", disable=not progress,
              desc="curate") as bar:
        for result in run(todo, config, out, workers):
            rec = result["record"]
            append_jsonl(out / ("kept.jsonl" if rec["status"] == "kept" else "rejected.jsonl"), rec)
            append_jsonl(out / "timings.jsonl", result["timings"])
            counts[rec["status"]] += 1
            if on_result is not None:
                on_result(result)
            bar.update(1)
            bar.set_postfix(kept=counts["kept"], rejected=counts["rejected"])
    stats = compute_stats(out)
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=2) + "\n")
    return CurateResult(total=len(items), kept=stats["kept"], rejected=stats["rejected"],
                        skipped=len(items) - len(todo), stats=stats)


def _default_pool(items: list[dict[str, str]], config: CurateConfig, out_dir: Path, workers: int) -> Iterator[dict[str, Any]]:
    from tempoforge.curate.runners.local import run_local

    return run_local(items, config, out_dir, workers)


"""The curation pipeline: inputs -> steps -> ``kept.jsonl`` / ``rejected.jsonl`` / ``stats.json``.

``process_video`` runs the configured steps on one video and never raises: a ``Drop`` or any error
(a broken file, a decoder failure) turns into a rejected record naming the step and the reason. It
returns JSON-ready dicts, so the same function runs in a local process pool or in Ray Data.

Inputs: one video, a folder, a list of paths or a glob (``curate.inputs``). ``kept.jsonl`` and
``rejected.jsonl`` are always written, empty when nothing was kept / rejected.

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
from functools import partial
from pathlib import Path
from typing import Any

from tempoforge.config import config_to_dict
from tempoforge.curate import steps as _builtin_steps  # noqa: F401 -- registers the built-in steps
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.inputs import VIDEO_SUFFIXES, list_inputs
from tempoforge.curate.record import CurationRecord
from tempoforge.curate.registry import Drop, StepContext, get_step
from tempoforge.curate.runners import Runner, Work
from tempoforge.errors import UserError
from tempoforge.io.errors import VideoError
from tempoforge.io.jsonl import append_jsonl, atomic_write_text, read_jsonl, repair_jsonl_tail

__all__ = ["VIDEO_SUFFIXES", "CurateResult", "curate", "list_inputs", "process_video"]


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
        rec = rec.model_copy(update={"status": "rejected", "step": step, "code": "error",
                                     "reason": _error_reason(exc, step)[:500]})
    return {"record": rec.to_json_dict(), "timings": {"id": rec.id, **timings}}


def _error_reason(exc: Exception, step: str) -> str:
    """A sentence for a rejected video: what was wrong with the file, or which step failed unexpectedly."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, VideoError):
        return f"the video cannot be used: {exc.reason}"
    if isinstance(exc, UserError):
        return msg
    return f"step '{step}' failed unexpectedly ({type(exc).__name__}: {msg}); please report this"


def run_sequential(work: Work, items: list[dict[str, str]], workers: int) -> Iterator[dict[str, Any]]:
    """The simplest runner: one video after the other in this process."""
    for item in items:
        yield work(item)


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
    """Counts per status, per ``step/code`` and per step (with an example reason), kept videos with warnings,
    and total / mean seconds per step, from the output files."""
    kept = list(read_jsonl(out / "kept.jsonl")) if (out / "kept.jsonl").exists() else []
    rejected = list(read_jsonl(out / "rejected.jsonl")) if (out / "rejected.jsonl").exists() else []
    reasons = Counter(f"{r.get('step')}/{r.get('code')}" for r in rejected)
    steps = Counter(str(r.get("step")) for r in rejected)
    example_reason: dict[str, str] = {}  # the first by id: the same whatever order the videos finished in
    for r in sorted(rejected, key=lambda r: str(r.get("id"))):
        example_reason.setdefault(str(r.get("step")), str(r.get("reason")))
    warned = sorted((r for r in kept if r.get("warnings")), key=lambda r: str(r.get("id")))
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
        "rejected_by_step": dict(sorted(steps.items())),
        "example_reason": dict(sorted(example_reason.items())),
        "kept_with_warnings": len(warned),
        **({"example_warning": warned[0]["warnings"][0]} if warned else {}),
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
    for name in ("kept.jsonl", "rejected.jsonl"):  # always there, empty when nothing was kept / rejected
        (out / name).touch()
    todo = [x for x in items if x["id"] not in done]
    run = runner or (run_sequential if workers <= 1 else _default_pool)
    work = partial(process_video, config=config, out_dir=out.resolve())  # resolved: workers may run elsewhere
    counts = Counter[str]()
    with tqdm(total=len(items), initial=len(items) - len(todo), unit="video", disable=not progress,
              desc="curate") as bar:
        for result in run(work, todo, workers):
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


def _default_pool(work: Work, items: list[dict[str, str]], workers: int) -> Iterator[dict[str, Any]]:
    from tempoforge.curate.runners.local import run_local

    return run_local(work, items, workers)


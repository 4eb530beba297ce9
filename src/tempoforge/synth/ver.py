"""TEMPURA's VER data pipeline (METHODS.md 2.1): videos -> validated events -> stage-1 and stage-2 samples.

Steps per video (each drops the video *with a reason*, never silently):

1. ``static``     drop static videos: curation's ``static`` step (mean HSV change per frame below
                  ``static_min_change``, ``tempoforge.curate``), or the ``mean_change`` a curated record has;
2. ``categorize`` the teacher picks a category; ``excluded_categories`` (interviews, lectures, speeches
                  in the paper) and labels outside ``categories`` are dropped. Deviation: the paper asks a
                  text LLM (Llama-3-72B) from the videos' captions; raw videos have none here, so the
                  teacher sees the frame grids;
3. ``segment``    the teacher segments the video from time-marked 1 fps frame grids;
4. ``validate``   no overlap, full coverage, inside the duration: small slips repaired, the rest rejected
                  (``segments.check_events``); a kept video gives one dense-captioning sample (stage 2);
5. ``coherence``  the teacher reasons step by step, then says whether the events are causally related;
                  incoherent videos give no masked-event sample (they stay in stage 2, as in the paper);
6. ``masked``     ``masked_per_video`` events (interior ones by default, chosen by a generator seeded from
                  the video id and ``seed``) are masked; the teacher's reasoning and description make the
                  stage-1 target.

Resumable and crash-safe: one line per finished video is appended to ``OUT/videos.jsonl`` (everything the
video produced), and a rerun skips the ids already there. ``samples.jsonl``, ``dense.jsonl``,
``rejected.jsonl`` and ``stats.json`` are rebuilt from it at the end of every run (atomic writes).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.config import config_to_dict
from tempoforge.errors import UserError
from tempoforge.io.jsonl import append_jsonl, atomic_write_text, read_jsonl, repair_jsonl_tail, write_jsonl
from tempoforge.models.prompts import dense_captioning_prompt, masked_event_prompt
from tempoforge.records import DenseCaptionSample, Event, Span
from tempoforge.synth.segments import SegmentationError, check_events
from tempoforge.synth.teachers.base import Teacher, TeacherError, TeacherEvent, TeacherSettings, TeacherVideo
from tempoforge.synth.tempura_samples import TempuraSample, dense_target, masked_target

__all__ = ["STEPS", "TempuraSynthConfig", "VideoItem", "build_outputs", "list_videos", "process_video", "run_ver"]

log = logging.getLogger(__name__)

STEPS = ("static", "categorize", "segment", "validate", "coherence", "masked")
DEFAULT_CATEGORIES = ["travel", "cooking", "diy", "tech review", "sports", "gaming", "vlog", "animals",
                      "education", "animation"]


@dataclass
class TempuraSynthConfig:
    """Options of ``tempoforge synth tempura`` (YAML preset keys = these names; ``teacher:`` a mapping)."""

    input: Path | None = field(default=None, metadata={"help": "TempoWorld folder (world.json) or curated folder (kept.jsonl)"})
    out: Path | None = field(default=None, metadata={"help": "output folder"})
    world: Path | None = field(default=None, metadata={
        "help": "TempoWorld folder for the oracle teacher when --in is a curated folder of its videos"})
    fps: float = field(default=1.0, metadata={"help": "frames per second shown to the teacher"})
    max_frames: int = field(default=512, metadata={"help": "frame cap for the teacher (spread over the video)"})
    grid_tiles: int = field(default=16, metadata={"help": "frames per grid image"})
    grid_cols: int = field(default=4, metadata={"help": "columns per grid image"})
    grid_tile_width: int = field(default=256, metadata={"help": "width of one grid tile in pixels"})
    static_filter: bool = field(default=True, metadata={"help": "drop static videos (curation's static filter)"})
    static_min_change: float = field(default=1.0, metadata={"help": "static filter: minimum mean HSV change per frame (0-255)"})
    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES),
                                  metadata={"help": "categories the teacher chooses from"})
    excluded_categories: list[str] = field(default_factory=lambda: ["interview", "lecture", "speech"],
                                           metadata={"help": "categories that are dropped"})
    tolerance: float = field(default=1.0, metadata={"help": "repair gaps / overlaps / overruns shorter than this (s)"})
    min_event_length: float = field(default=0.1, metadata={"help": "shortest event after repair (s)"})
    masked_per_video: int = field(default=1, metadata={"help": "masked-event samples per coherent video"})
    interior_only: bool = field(default=True, metadata={"help": "mask only events with a neighbour on both sides"})
    seed: int = field(default=0, metadata={"help": "seed of the masked-event choice (mixed with the video id)"})
    workers: int = field(default=1, metadata={"help": "videos processed at once (threads; concurrent teachers only)"})
    limit: int | None = field(default=None, metadata={"help": "process at most this many input videos"})
    teacher: TeacherSettings = field(default_factory=TeacherSettings)

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.max_frames < 1 or self.tolerance < 0 or self.masked_per_video < 0 or self.workers < 1:
            raise ValueError("need fps > 0, max_frames >= 1, tolerance >= 0, masked_per_video >= 0, workers >= 1")

    def fingerprint(self) -> dict[str, Any]:
        """What changes the results (compared on resume): not workers, limit or transport settings."""
        d = config_to_dict(self)
        for k in ("workers", "limit", "input", "out"):
            d.pop(k, None)
        for k in ("concurrency", "timeout", "max_retries", "backoff", "max_backoff", "cache_dir", "device"):
            d["teacher"].pop(k, None)
        return d


@dataclass
class VideoItem:
    id: str
    path: str
    duration: float
    mean_change: float | None = None
    grids: list[str] = field(default_factory=list)
    root: Path | None = None


def list_videos(source: Path) -> tuple[list[VideoItem], Any]:
    """Videos of a TempoWorld folder or a curated folder, and the world (None for a curated folder)."""
    from tempoforge.io.probe import probe

    if (source / "world.json").is_file():
        from tempoforge.world import load_world

        world = load_world(source)
        return [VideoItem(s.id, str(world.video_path(s.id).resolve()), s.duration) for s in world.scripts], world
    kept = source / "kept.jsonl"
    if kept.is_file():
        from tempoforge.curate.record import CurationRecord

        items = []
        for rec in read_jsonl(kept, CurationRecord):
            duration = rec.info.duration if rec.info is not None else probe(rec.path).duration
            items.append(VideoItem(Path(rec.id).stem if rec.id.endswith(".mp4") else rec.id, rec.path, duration,
                                   rec.mean_change, list(rec.grids), source))
        return items, None
    raise UserError(f"--in {source}: neither a TempoWorld folder (world.json) nor a curated folder (kept.jsonl)")


def _reject(rec: dict[str, Any], step: str, code: str, reason: str) -> dict[str, Any]:
    rec.update(status="rejected", step=step, code=code, reason=reason[:500])
    return rec


def _static(item: VideoItem, cfg: TempuraSynthConfig, out: Path) -> tuple[str, str] | None:
    """``(code, reason)`` when the video is static (or cannot be read), else None."""
    if item.mean_change is not None:
        if item.mean_change < cfg.static_min_change:
            return "static", f"mean HSV change {item.mean_change:.3f} < {cfg.static_min_change}"
        return None
    from tempoforge.curate import CurateConfig
    from tempoforge.curate.pipeline import process_video as curate_video

    ccfg = CurateConfig(steps=["probe", "signals", "static"], static_min_change=cfg.static_min_change)
    rec = curate_video({"id": item.id, "path": item.path}, ccfg, out / "static")["record"]
    item.mean_change = rec.get("mean_change")
    if rec["status"] != "kept":
        return str(rec.get("code")), str(rec.get("reason"))
    return None


def _teacher_video(item: VideoItem, cfg: TempuraSynthConfig) -> TeacherVideo:
    from tempoforge.io import sample
    from tempoforge.synth.grids import frame_grids, load_grids

    def frames() -> Any:
        return sample(item.path, fps=cfg.fps, max_frames=cfg.max_frames)

    def grids() -> list[np.ndarray]:
        if item.grids and item.root is not None:
            return load_grids(item.grids, item.root)
        return frame_grids(video.frames(), tiles=cfg.grid_tiles, cols=cfg.grid_cols, tile_width=cfg.grid_tile_width)

    video = TeacherVideo(item.id, item.path, item.duration, frames_fn=frames, grids_fn=grids)
    return video


def masked_choice(video_id: str, n_events: int, cfg: TempuraSynthConfig) -> list[int]:
    """Which events to mask: seeded by ``(seed, crc32(video_id))``, interior events when ``interior_only``."""
    pool = list(range(1, n_events - 1)) if cfg.interior_only else list(range(n_events))
    if not pool or cfg.masked_per_video == 0:
        return []
    rng = np.random.default_rng([cfg.seed, zlib.crc32(video_id.encode())])
    k = min(cfg.masked_per_video, len(pool))
    return sorted(int(i) for i in rng.choice(pool, size=k, replace=False))


def _events(evs: list[TeacherEvent]) -> list[Event]:
    return [Event(span=Span.of(e.start, e.end), caption=e.description) for e in evs]


def process_video(item: VideoItem, cfg: TempuraSynthConfig, teacher: Teacher, out: Path) -> dict[str, Any]:
    """Run the VER steps on one video; never raises. Returns the ``videos.jsonl`` line (JSON-ready)."""
    rec: dict[str, Any] = {"id": item.id, "video": item.path, "duration": item.duration, "status": "kept",
                           "samples": [], "sample_rejections": [], "repairs": []}
    step = "static"
    try:
        if cfg.static_filter and (hit := _static(item, cfg, out)) is not None:
            return _reject(rec, "static", *hit)
        video = _teacher_video(item, cfg)
        step = "categorize"
        cat = teacher.categorize(video, cfg.categories)
        label = cat.label.strip().lower()
        rec["category"] = label
        if label in [c.lower() for c in cfg.excluded_categories]:
            return _reject(rec, step, "excluded", f"category {label!r} is excluded")
        if label not in [c.lower() for c in cfg.categories]:
            return _reject(rec, step, "unknown_category", f"category {label!r} is not one of {cfg.categories}")
        step = "segment"
        raw = teacher.segment(video)
        rec["raw_events"] = [[e.start, e.end, e.description] for e in raw]
        step = "validate"
        checked = check_events(raw, item.duration, cfg.tolerance, cfg.min_event_length)
        events = checked.events
        rec["repairs"] = checked.repairs
        rec["events"] = [e.to_json_dict() for e in _events(events)]
        dense = TempuraSample(id=f"{item.id}/dense", video=item.path, task="dense", duration=item.duration,
                              prompt=dense_captioning_prompt(), answer=dense_target(events), events=_events(events),
                              meta={"category": label, "teacher": teacher.name})
        rec["samples"].append(dense.to_json_dict())
        step = "coherence"
        coh = teacher.coherence(video, events)
        rec["coherent"], rec["coherence_reasoning"] = coh.coherent, coh.reasoning
        if not coh.coherent:
            rec["sample_rejections"].append({"step": "coherence", "code": "incoherent", "reason": coh.reasoning[:500]})
            return rec
        step = "masked"
        picks = masked_choice(item.id, len(events), cfg)
        if not picks and cfg.masked_per_video > 0:
            rec["sample_rejections"].append({"step": "masked", "code": "too_few_events",
                                             "reason": f"{len(events)} events: no interior event to mask"})
        for j in picks:
            m = events[j]
            try:
                pred = teacher.masked_event(video, events, j)
            except TeacherError as exc:
                rec["sample_rejections"].append({"step": "masked", "code": exc.code, "reason": str(exc)[:500]})
                continue
            s = TempuraSample(id=f"{item.id}/masked{j}", video=item.path, task="masked", duration=item.duration,
                              prompt=masked_event_prompt(m.start, m.end),
                              answer=masked_target(pred.reasoning, m.start, m.end, pred.description),
                              mask=Span.of(m.start, m.end), events=_events(events),
                              meta={"masked_index": j, "reference": m.description, "teacher": teacher.name})
            rec["samples"].append(s.to_json_dict())
    except TeacherError as exc:
        return _reject(rec, step, exc.code, str(exc))
    except SegmentationError as exc:
        return _reject(rec, step, exc.code, str(exc))
    except (UserError, ValueError, OSError, RuntimeError) as exc:  # a broken video must not stop the run
        return _reject(rec, step, "error", f"{type(exc).__name__}: {exc}")
    return rec


def _done(path: Path) -> set[str]:
    if not path.exists():
        return set()
    repair_jsonl_tail(path)
    return {str(r["id"]) for r in read_jsonl(path)}


def _results(items: list[VideoItem], cfg: TempuraSynthConfig, teacher: Teacher, out: Path) -> Iterator[dict[str, Any]]:
    if cfg.workers <= 1 or not teacher.concurrent:
        for item in items:
            yield process_video(item, cfg, teacher, out)
        return
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        yield from pool.map(lambda it: process_video(it, cfg, teacher, out), items)


def build_outputs(out: Path) -> dict[str, Any]:
    """Rebuild ``samples.jsonl``, ``dense.jsonl``, ``rejected.jsonl`` and ``stats.json`` from ``videos.jsonl``."""
    rows = list(read_jsonl(out / "videos.jsonl")) if (out / "videos.jsonl").exists() else []
    samples, dense, rejected = [], [], []
    rejected_by: dict[str, Counter[str]] = {s: Counter() for s in STEPS}
    repaired: Counter[str] = Counter()
    for r in rows:
        if r["status"] == "rejected":
            rejected.append({"id": r["id"], "video": r["video"], "step": r["step"], "code": r["code"],
                             "reason": r["reason"]})
            rejected_by[r["step"]][r["code"]] += 1
            continue
        for rep in r.get("repairs", []):
            repaired[rep.split(" ")[0].rstrip(":")] += 1
        for x in r.get("sample_rejections", []):
            rejected.append({"id": r["id"], "video": r["video"], **x})
            rejected_by[x["step"]][x["code"]] += 1
        samples += r["samples"]
        dense.append(DenseCaptionSample(id=r["id"], video=r["video"], duration=r["duration"],
                                        events=[Event.model_validate(e) for e in r["events"]], source="tempura-ver",
                                        meta={"category": r.get("category"), "coherent": r.get("coherent")}))
    write_jsonl(out / "samples.jsonl", samples)
    write_jsonl(out / "dense.jsonl", dense)
    write_jsonl(out / "rejected.jsonl", rejected)
    tasks = Counter(s["task"] for s in samples)
    per_step, remaining = [], len(rows)
    for s in STEPS[:4]:
        n_rej = sum(rejected_by[s].values())
        per_step.append({"step": s, "in": remaining, "rejected": n_rej, "by_code": dict(rejected_by[s])})
        remaining -= n_rej
    for s in STEPS[4:]:
        per_step.append({"step": s, "in": remaining if s == "coherence" else remaining - sum(rejected_by["coherence"].values()),
                         "rejected": sum(rejected_by[s].values()), "by_code": dict(rejected_by[s])})
    stats = {"videos": len(rows), "kept": sum(r["status"] == "kept" for r in rows),
             "rejected": sum(r["status"] == "rejected" for r in rows),
             "samples": {"dense": tasks["dense"], "masked": tasks["masked"]}, "repaired": dict(repaired),
             "steps": per_step}
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=2) + "\n")
    return stats


def run_ver(cfg: TempuraSynthConfig, *, teacher: Teacher | None = None, progress: bool = True,
            on_result: Callable[[dict[str, Any]], None] | None = None,
            only: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Run (or resume) the pipeline on ``cfg.input`` into ``cfg.out``; returns ``stats.json``'s content.
    ``only(video_id)``: process just the videos it accepts (before ``cfg.limit``)."""
    from tqdm import tqdm

    from tempoforge.synth.teachers.base import make_teacher

    if cfg.input is None or cfg.out is None:
        raise UserError("synth tempura needs --in and --out")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    items, world = list_videos(Path(cfg.input))
    if only is not None:
        items = [it for it in items if only(it.id)]
    if cfg.limit is not None:
        items = items[: cfg.limit]
    fp = json.dumps(cfg.fingerprint(), indent=2, sort_keys=True) + "\n"
    done = _done(out / "videos.jsonl")
    prev = out / "config.json"
    if done and prev.exists() and json.loads(prev.read_text()) != json.loads(fp):
        raise UserError(f"{out} holds results of a run with other settings ({prev}); resume with the same "
                        "settings or use a new --out")
    atomic_write_text(prev, fp)
    todo = [it for it in items if it.id not in done]
    if teacher is None and todo:
        if world is None and cfg.world is not None:
            from tempoforge.world import load_world

            world = load_world(cfg.world)
        try:
            teacher = make_teacher(cfg.teacher, world=world, cache_dir=out / "teacher_cache")
        except TeacherError as exc:
            raise UserError(str(exc)) from None
    counts: Counter[str] = Counter()
    with tqdm(total=len(items), initial=len(items) - len(todo), unit="video", desc="synth tempura",
              disable=not progress) as bar:
        if todo:
            assert teacher is not None
            for rec in _results(todo, cfg, teacher, out):
                append_jsonl(out / "videos.jsonl", rec)
                counts[rec["status"]] += 1
                if on_result is not None:
                    on_result(rec)
                bar.update(1)
                bar.set_postfix(kept=counts["kept"], rejected=counts["rejected"])
    return build_outputs(out)

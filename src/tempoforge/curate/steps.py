"""The built-in curation steps, registered by name. Each maps a record to a record or raises ``Drop``.

Steps after ``signals`` only read the signal table (``ctx.scratch["table"]``) and decode full-resolution
frames at the few times they need (``tempoforge.io.sample(times=...)``), so a video is decoded densely
once (DESIGN.md principle 5).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tempoforge.curate import grouping, keyframes, shots
from tempoforge.curate.config import CurateConfig
from tempoforge.curate.record import CurationRecord, Keyframe, SelectedFrame
from tempoforge.curate.registry import Drop, StepContext, register_step
from tempoforge.curate.signals import (
    SignalTable,
    analysis_size,
    load_table,
    save_table,
    table_key,
    video_signals,
)
from tempoforge.io.jsonl import atomic_write_bytes

__all__ = ["file_stem"]


def file_stem(record_id: str) -> str:
    """A file-system-safe name for a record id (``a/b c.mp4`` -> ``a__b_c.mp4``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", record_id.replace("/", "__"))


def _table(ctx: StepContext) -> SignalTable:
    table: SignalTable | None = ctx.scratch.get("table")
    if table is None:
        raise RuntimeError("this step needs the 'signals' step to run before it")
    return table


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"could not encode {path}")
    atomic_write_bytes(path, buf.tobytes())


@register_step("probe")
def probe_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """Read the stream's metadata (duration, fps, size) without decoding; a truncated file is kept with a warning."""
    from tempoforge.io import probe
    from tempoforge.io.probe import truncation_warning

    rec.info = probe(rec.path)
    if rec.info.num_frames == 0 or rec.info.duration <= 0:
        raise Drop("empty", f"the video has no frames (duration {rec.info.duration} s)")
    if (warning := truncation_warning(rec.info)) is not None:
        rec.warnings.append(warning)
    return rec


@register_step("signals")
def signals_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """One low-res decode pass -> per-frame signals (cached in ``<out>/cache/<id>.npz``)."""
    from tempoforge.io import probe

    if rec.info is None:
        rec.info = probe(rec.path)
    settings = cfg.signal_settings()  # (v6: embedding on a pixel grid, thumbnails only for TransNetV2)
    key = table_key(settings)
    cache = ctx.cache_dir / f"{file_stem(rec.id)}.npz"
    table = load_table(cache, key)
    if table is None:
        size = analysis_size(*rec.info.display_size, cfg.analysis_width)
        params = cfg.detector_params()
        dets = {name: shots.make_frame_detector(name, params, scored=True) for name in cfg.frame_detectors()}
        table = video_signals(rec.path, rec.info.fps, size, detectors=dets, keep_thumbs=bool(settings["thumbs"]),
                              key=key)
        if len(table) == 0:
            raise Drop("empty", "not a single frame could be decoded")
        save_table(cache, table)
    ctx.scratch["table"] = table
    rec.mean_change = round(float(table.change[1:].mean()) if len(table) > 1 else 0.0, 4)
    return rec


@register_step("static")
def static_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """TEMPURA's static filter: drop videos whose mean per-frame change is below ``static_min_change``."""
    table = _table(ctx)
    change = float(table.change[1:].mean()) if len(table) > 1 else 0.0
    if change < cfg.static_min_change:
        raise Drop("static", f"too static: the picture changes by {change:.3f} per frame on average (mean HSV "
                             f"change, 0-255), below the minimum of {cfg.static_min_change} (static_min_change)")
    return rec


def _detector_cuts(name: str, table: SignalTable, cfg: CurateConfig) -> np.ndarray:
    if name in shots.FRAME_DETECTORS:
        return table.cuts[name]
    if table.thumbs is None:
        raise RuntimeError("the signal table has no thumbnails for TransNetV2")
    return shots.transnetv2_cuts(shots.transnetv2_probabilities(table.thumbs, cfg.transnet_device), table.times, cfg.transnet_threshold)


@register_step("shots")
def shots_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """Shot boundaries from ``detector`` (and cut lists from ``also_detect`` for comparison)."""
    table = _table(ctx)
    for name in cfg.detectors():
        rec.cuts[name] = [round(float(t), 6) for t in _detector_cuts(name, table, cfg)]
    rec.shots = shots.cuts_to_shots(np.asarray(rec.cuts[cfg.detector]), table)
    rec.detector = cfg.detector
    return rec


@register_step("clean_shots")
def clean_shots_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """TEMPLE: merge shots under 8 frames, drop too-short and nearly constant shots."""
    rec.shots = shots.clean_shots(rec.shots, _table(ctx), merge_below_frames=cfg.merge_below_frames,
                                  min_length_fps_factor=cfg.min_length_fps_factor, min_grey_range=cfg.min_grey_range)
    return rec


@register_step("shot_count")
def shot_count_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """TEMPLE: keep videos with 4-32 shots and no shot over 16 s."""
    if not rec.shots:
        raise Drop("shot_count", "no shots were found")
    reason = grouping.check_shot_count(rec.shots, cfg.min_shots, cfg.max_shots, cfg.max_shot_seconds)
    if reason:
        raise Drop("shot_length" if "lasts" in reason else "shot_count", reason)
    return rec


@register_step("group")
def group_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """Group shots by embedding similarity (greedy agglomerative, cos > 0.8) and build the runs."""
    if cfg.embed_model and rec.shots:
        from tempoforge.curate.embed import encode_images
        from tempoforge.io import sample

        table = _table(ctx)
        mids = [float(table.times[table.index_at((s.start + s.end) / 2)]) for s in rec.shots]
        emb = encode_images(cfg.embed_model, sample(rec.path, times=mids, dedupe=False).data)
    else:
        emb = grouping.shot_embeddings(rec.shots, _table(ctx))
    groups = grouping.group_shots(emb, cfg.group_threshold)
    rec.shots = [s.model_copy(update={"group": g}) for s, g in zip(rec.shots, groups, strict=True)]
    rec.runs = grouping.make_runs(rec.shots, groups)
    return rec


@register_step("runs_filter")
def runs_filter_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """TEMPLE: at least 4 runs and no group recurring in too many runs."""
    reason = grouping.check_runs(rec.runs, cfg.min_runs, cfg.max_group_runs)
    if reason:
        raise Drop("runs", reason)
    return rec


@register_step("keyframes")
def keyframes_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """Two keyframes per run by cos-weighted sharpness; full-resolution images written as JPEG."""
    from tempoforge.io import sample

    table = _table(ctx)
    picks: list[tuple[int, int, int, float]] = []  # run, slot, index, score
    for r, run in enumerate(rec.runs):
        for slot, (idx, score) in enumerate(keyframes.run_keyframes(table.times, table.sharpness, run.start, run.end,
                                                                    cfg.keyframes_per_run)):
            picks.append((r, slot, idx, score))
    if not picks:
        return rec
    want = [float(table.times[i]) for _, _, i, _ in picks]
    frames = sample(rec.path, times=want, dedupe=False)
    folder = f"keyframes/{file_stem(rec.id)}"
    rec.keyframes = []
    for (r, slot, _, score), img, t in zip(picks, frames.data, frames.times, strict=True):
        rel = f"{folder}/run{r:03d}_{slot}.jpg"
        _write_jpeg(ctx.out_dir / rel, img, cfg.image_quality)
        rec.keyframes.append(Keyframe(run=r, slot=slot, time=round(float(t), 6), score=round(score, 4), image=rel))
    return rec


@register_step("saa")
def saa_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """Tempo-R0 SAA: ``saa_frames`` frames allocated by content change, with their true times."""
    table = _table(ctx)
    idx = keyframes.adaptive_frames(table.change, cfg.saa_frames, cfg.saa_floor)
    rec.frames = [SelectedFrame(index=int(i), time=round(float(table.times[i]), 6)) for i in idx]
    return rec


@register_step("grids")
def grids_step(rec: CurationRecord, ctx: StepContext, cfg: CurateConfig) -> CurationRecord:
    """TEMPURA frame grids: frames at ``grid_fps`` tiled chronologically, each with its true time."""
    from tempoforge.io import sample
    from tempoforge.io.overlay import contact_sheet

    frames = sample(rec.path, fps=cfg.grid_fps)
    folder = f"grids/{file_stem(rec.id)}"
    rec.grids = []
    for g, lo in enumerate(range(0, len(frames), cfg.grid_tiles)):
        hi = min(lo + cfg.grid_tiles, len(frames))
        sheet = contact_sheet(frames.data[lo:hi], frames.times[lo:hi].tolist(), cols=cfg.grid_cols,
                              tile_width=cfg.grid_tile_width)
        rel = f"{folder}/grid{g:03d}.jpg"
        _write_jpeg(ctx.out_dir / rel, sheet, cfg.image_quality)
        rec.grids.append(rel)
    return rec

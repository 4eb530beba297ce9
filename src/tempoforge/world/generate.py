"""Generating a world: ``DIR/videos/*.mp4``, ``DIR/annotations/*`` and ``DIR/world.json``.

Resumable: scripts are a pure function of ``(config, seed, index)``, videos are written atomically, and a
rerun renders only the videos that are missing, after checking that ``DIR/world.json`` was made with the
same config and seed (a different one is an error, never a silent mix). Asking for more videos than a
previous run extends the world; the exports and ``world.json`` are rewritten (atomically) at the end.
Rendering runs in a process pool of ``cfg.workers`` processes (forked where the platform allows).
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tempoforge.config import config_to_dict
from tempoforge.errors import UserError
from tempoforge.io.jsonl import atomic_write_text
from tempoforge.world.config import WorldConfig
from tempoforge.world.exports import write_exports
from tempoforge.world.render import render_video
from tempoforge.world.scene import VideoScript
from tempoforge.world.script import sample_script

__all__ = ["FORMAT", "World", "generate_world", "load_world"]

FORMAT = "tempoworld"
VERSION = 1


@dataclass
class World:
    """A generated world on disk: its config, seed and the script (ground truth) of every video."""

    root: Path
    config: WorldConfig
    seed: int
    scripts: list[VideoScript]
    complete: bool = True

    def script(self, video_id: str) -> VideoScript:
        for s in self.scripts:
            if s.id == video_id:
                return s
        raise UserError(f"{self.root / 'world.json'}: no video {video_id!r} (ids run "
                        f"{self.scripts[0].id if self.scripts else '-'}..{self.scripts[-1].id if self.scripts else '-'})")

    def video_path(self, video_id: str) -> Path:
        return self.root / "videos" / f"{video_id}.mp4"


def _header(cfg: WorldConfig, seed: int, n: int, complete: bool) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "seed": seed, "num_videos": n, "complete": complete,
            "config": config_to_dict(cfg)}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path}: not a TempoWorld world.json (no \"format\": \"{FORMAT}\")")
    return data


def _config_from(data: dict[str, Any], path: Path) -> WorldConfig:
    raw = dict(data["config"])
    raw["actions"] = tuple(raw.get("actions", ()))
    try:
        return WorldConfig(**raw)
    except TypeError as exc:
        raise UserError(f"{path}: config: {exc}") from None


def load_world(root: str | Path) -> World:
    """Read ``root/world.json`` (written by ``generate_world``)."""
    root = Path(root)
    path = root / "world.json"
    if not path.is_file():
        raise UserError(f"no world.json in {root} (generate one with `tempoforge world generate --out {root}`)")
    data = _read_json(path)
    scripts = []
    for i, v in enumerate(data.get("videos", [])):
        try:
            scripts.append(VideoScript.from_dict(v))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{path}: videos[{i}]: {exc}") from None
    return World(root=root, config=_config_from(data, path), seed=int(data["seed"]), scripts=scripts,
                 complete=bool(data.get("complete", False)))


def _check_resume(root: Path, cfg: WorldConfig, seed: int) -> None:
    path = root / "world.json"
    if not path.exists():
        return
    data = _read_json(path)
    old = _config_from(data, path)
    if data.get("seed") != seed or old.fingerprint() != cfg.fingerprint():
        diff = sorted(k for k, v in cfg.fingerprint().items() if old.fingerprint().get(k) != v)
        raise UserError(f"{root} holds a world made with a different "
                        f"{'seed' if data.get('seed') != seed else 'config'} "
                        f"(seed {data.get('seed')} vs {seed}; differing fields: {diff}); "
                        "use a new --out folder or the same settings to resume")


def _render_one(args: tuple[VideoScript, str, int, int]) -> str:
    script, path, crf, gop = args
    render_video(script, path, crf=crf, gop=gop)
    return script.id


def generate_world(out: str | Path, videos: int, seed: int = 0, config: WorldConfig | None = None, *,
                   progress: bool = True) -> World:
    """Generate (or resume) ``videos`` videos of the world ``(config, seed)`` under ``out``.

    Returns the ``World``; ``out/world.json`` holds the config and every video's ground truth.
    """
    if videos < 1:
        raise UserError(f"--videos must be >= 1, got {videos}")
    cfg = config or WorldConfig()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _check_resume(root, cfg, seed)
    atomic_write_text(root / "world.json", json.dumps(_header(cfg, seed, videos, complete=False), indent=1) + "\n")
    scripts = [sample_script(cfg, seed, i) for i in range(videos)]
    todo = [(s, str(root / "videos" / f"{s.id}.mp4"), cfg.crf, cfg.gop) for s in scripts
            if not (root / "videos" / f"{s.id}.mp4").exists()]
    bar = tqdm(total=videos, initial=videos - len(todo), desc="rendering videos", unit="video",
               disable=not progress)
    try:
        if cfg.workers <= 1 or len(todo) <= 1:
            for item in todo:
                _render_one(item)
                bar.update(1)
        else:
            # fork: workers start in milliseconds and need no `if __name__ == "__main__"` guard in the
            # caller's script; the workers only run numpy and PyAV (no torch, no inherited locks used)
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            ctx = multiprocessing.get_context(method)
            chunk = max(1, len(todo) // (cfg.workers * 8))
            with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=ctx) as pool:
                for _ in pool.map(_render_one, todo, chunksize=chunk):  # re-raises a worker's error
                    bar.update(1)
    finally:
        bar.close()
    write_exports(root, scripts, cfg)
    header = _header(cfg, seed, videos, complete=True)
    header["videos"] = [s.to_dict() for s in scripts]
    atomic_write_text(root / "world.json", json.dumps(header, indent=1) + "\n")
    return World(root=root, config=cfg, seed=seed, scripts=scripts)

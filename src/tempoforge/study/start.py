"""The start the tempo-r0, tempura and d2vlm studies share: the TEMPLE study's worlds and starting model.

Each of those studies measures its method from the same tiny model the TEMPLE study starts from (trained from
scratch on grounding queries and chronological captions of the first ``base_videos`` training videos), made here
or linked from a TEMPLE study folder (``--base-from``), and its own data comes from the other training videos.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tempoforge.study.temple import TemplePreset, generate_worlds, supervised_items, train_base, video_index

__all__ = ["Start", "preset_fingerprint", "reuse_start", "shared_start"]


@dataclass(frozen=True)
class Start:
    """One seed's training world, held-out world and starting model (checkpoint directory)."""

    train: Path
    heldout: Path
    base: str


def shared_start(b: TemplePreset, seed: int, work: Path, base_from: Path | None, quiet: bool = True) -> Start:
    """The worlds and starting model of seed ``seed`` under ``work``: linked (read-only) from the TEMPLE study in
    ``base_from``, else generated and trained here (cached)."""
    if base_from is not None:
        reuse_start(base_from, seed, b, work)
        train, heldout = work / "world" / "train", work / "world" / "heldout"
    else:
        train, heldout = generate_worlds(b, seed, work / "world", quiet)
    ann = train / "annotations"
    base = train_base(supervised_items(ann, b.clips, seed, keep=lambda v: video_index(v) < b.base_videos),
                      b, seed, work / "base")
    return Start(train, heldout, base)


def preset_fingerprint(preset: Any) -> dict[str, Any]:
    """What changes a study's results: its preset and its TEMPLE base preset, without the seeds."""
    d = asdict(preset)
    d.pop("seeds")
    d["base"].pop("seeds")
    return d


def reuse_start(source: Path, seed: int, base: TemplePreset, work: Path) -> None:
    """Link the worlds and the trained starting model of seed ``seed`` from the TEMPLE study in ``source``
    into ``work`` (read-only reuse: the same world seeds and sizes, so the same data), after checking that
    it was made with the same base preset values."""
    from tempoforge.errors import UserError

    cfg = source / "config.json"
    if not cfg.is_file():
        raise UserError(f"--base-from {source}: no config.json (not a tempoforge study folder)")
    settings = json.loads(cfg.read_text()).get("settings", {})
    mine = json.loads(json.dumps({k: v for k, v in asdict(base).items() if k != "seeds"}))
    if json.loads(cfg.read_text()).get("method") != "temple" or settings != mine:
        raise UserError(f"--base-from {source}: made with other settings than this study's starting model "
                        f"(TEMPLE preset {base.name!r}); run it with that preset or drop --base-from")
    src = source / f"seed{seed}"
    for name in ("world", "base"):
        if not (src / name).is_dir():
            raise UserError(f"--base-from {source}: seed {seed} has no {name}/ yet (run that study first)")
        dst = work / name
        work.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            dst.symlink_to((src / name).resolve(), target_is_directory=True)

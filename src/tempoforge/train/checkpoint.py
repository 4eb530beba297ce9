"""Saving and resolving model checkpoints between training stages (merged weights, stock layout)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

__all__ = ["DONE_MARKER", "done_series", "is_done", "mark_done", "resolve_model", "save_checkpoint"]

DONE_MARKER = "tempoforge_stage_done.json"
_PREPROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json", "chat_template.jinja")


def resolve_model(spec: str, seed: int = 0) -> Any:
    """A ``LoadedModel`` from ``"tiny:<model_type>"`` (random-initialised, built in code) or a directory."""
    if spec.startswith("tiny:"):
        from tempoforge.models.tiny import build_tiny

        return build_tiny(spec.split(":", 1)[1], seed=seed)
    from tempoforge.models.load import load

    return load(spec)


def save_checkpoint(lm: Any, out_dir: Path) -> Path:
    """Save ``lm`` (adapter merged first) in the stock layout that ``tempoforge.models.load`` reads.

    Under ``accelerate launch`` call it on every rank: rank 0 writes, the others wait. With sharded weights
    (FSDP2 / DeepSpeed ZeRO-3) the full weights are gathered first, and ``lm.model`` becomes the checkpoint
    reloaded from ``out_dir`` (a plain model the next stage's Trainer shards again).
    """
    from tempoforge.train.distributed import (
        barrier,
        full_state_dict,
        gathered_for_update,
        is_main_process,
        is_sharded,
    )
    from tempoforge.train.lora import merge_lora

    # on every rank (the merged model stays in memory for the next stage); FSDP2 / ZeRO-3 weights are
    # gathered in full for the merge and the file (collectives, hence on every rank too)
    sharded = is_sharded(lm.model)
    with gathered_for_update(lm.model):
        model = merge_lora(lm.model)
        state = full_state_dict(model) if sharded else None
    lm.model = model
    if is_main_process():  # under accelerate launch, rank 0 writes and the others wait for it
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out_dir, state_dict=state)
        lm.tokenizer.save_pretrained(out_dir)
        if lm.path is not None:
            for name in _PREPROCESSOR_FILES:
                src = Path(lm.path) / name
                if src.is_file() and not (out_dir / name).exists():
                    shutil.copy2(src, out_dir / name)
        else:
            from tempoforge.models.tiny import preprocessor_configs

            image_cfg, video_cfg = preprocessor_configs(lm.family.model_type, lm.vision)
            (out_dir / "preprocessor_config.json").write_text(json.dumps(image_cfg, indent=2))
            (out_dir / "video_preprocessor_config.json").write_text(json.dumps(video_cfg, indent=2))
    barrier()
    lm.path = out_dir
    if sharded:  # the merged model is no longer a valid FSDP2 / ZeRO-3 module: continue from the file
        lm.model = resolve_model(str(out_dir)).model
    return out_dir


def mark_done(stage_dir: Path, **info: Any) -> None:
    """Mark a stage finished (written last, atomically): a rerun skips it and loads its checkpoint."""
    from tempoforge.io.jsonl import atomic_write_text
    from tempoforge.train.distributed import barrier, is_main_process

    if is_main_process():
        atomic_write_text(stage_dir / DONE_MARKER, json.dumps(info, indent=2, default=str))
    barrier()


def is_done(stage_dir: Path) -> bool:
    return (stage_dir / DONE_MARKER).is_file()


def done_series(stage_dir: Path) -> dict[str, list[float]]:
    """The per-step series a finished stage recorded in its done-marker (``loss`` and any loss parts)."""
    done = json.loads((stage_dir / DONE_MARKER).read_text())
    return {k: [float(x) for x in v] for k, v in done.items() if isinstance(v, list)}

"""Saving and resolving model checkpoints between training stages (merged weights, stock layout)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

__all__ = ["DONE_MARKER", "is_done", "mark_done", "resolve_model", "save_checkpoint"]

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
    """Save ``lm`` (adapter merged first) in the stock layout that ``tempoforge.models.load`` reads."""
    from tempoforge.train.lora import merge_lora

    out_dir.mkdir(parents=True, exist_ok=True)
    model = merge_lora(lm.model)
    lm.model = model
    model.save_pretrained(out_dir)
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
    lm.path = out_dir
    return out_dir


def mark_done(stage_dir: Path, **info: Any) -> None:
    """Mark a stage finished (written last, atomically): a rerun skips it and loads its checkpoint."""
    from tempoforge.io.jsonl import atomic_write_text

    atomic_write_text(stage_dir / DONE_MARKER, json.dumps(info, indent=2, default=str))


def is_done(stage_dir: Path) -> bool:
    return (stage_dir / DONE_MARKER).is_file()

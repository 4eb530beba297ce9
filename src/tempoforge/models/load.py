"""Load a Qwen-family video LLM from a local directory (no hub access), optionally with a PEFT adapter.

``load(path)`` reads ``config.json`` to pick the family (an unsupported ``model_type`` is a
:class:`UserError` listing the supported ones), the tokenizer and chat template, the preprocessing
constants (``preprocessor_config.json`` / ``video_preprocessor_config.json``) and the weights.
``trust_remote_code`` is off unless asked for: the supported families are native to transformers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tempoforge.errors import UserError
from tempoforge.models.families import Family, get_family
from tempoforge.models.tensorize import VisionSpec

__all__ = ["LoadedModel", "load", "read_vision_spec", "tokenizer_token_ids"]

log = logging.getLogger(__name__)

_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class LoadedModel:
    """A model with everything needed to build its inputs (``tempoforge.models.inputs``)."""

    model: Any  # a transformers ``*ForConditionalGeneration`` (or a PEFT wrapper of one)
    tokenizer: Any
    family: Family
    vision: VisionSpec
    path: Path | None = None
    adapter: Path | None = None

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def name(self) -> str:
        base = str(self.path) if self.path is not None else f"tiny-{self.family.model_type}"
        return base if self.adapter is None else f"{base}+{self.adapter}"

    @property
    def tokens_per_second(self) -> float:
        """Time-aware M-RoPE resolution (Qwen2.5-VL ``vision_config.tokens_per_second``; else 1)."""
        return float(getattr(self.config.vision_config, "tokens_per_second", 1) or 1)

    @property
    def token_ids(self) -> dict[str, int]:
        return tokenizer_token_ids(self.tokenizer)

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device


def tokenizer_token_ids(tok: Any) -> dict[str, int]:
    """Ids of the Qwen special tokens tempoforge uses (errors name the missing token)."""
    names = {"image": "<|image_pad|>", "video": "<|video_pad|>", "vision_start": "<|vision_start|>",
             "vision_end": "<|vision_end|>", "eos": "<|im_end|>", "pad": "<|endoftext|>",
             "im_start": "<|im_start|>"}
    out = {}
    unk = getattr(tok, "unk_token_id", None)
    for key, token in names.items():
        i = tok.convert_tokens_to_ids(token)
        if i is None or (i == unk and token != getattr(tok, "unk_token", None)):
            raise UserError(f"the tokenizer has no {token} token: not a Qwen-VL tokenizer")
        out[key] = int(i)
    if tok.pad_token_id is not None:
        out["pad"] = int(tok.pad_token_id)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    return data


def read_vision_spec(path: Path, family: Family) -> VisionSpec:
    """The preprocessing constants of the checkpoint at ``path`` (family defaults when files are absent)."""
    image_file, video_file = path / "preprocessor_config.json", path / "video_preprocessor_config.json"
    budget: Literal["per_frame", "total"] = "total" if family.native_text_timestamps else "per_frame"
    if image_file.is_file():
        image_cfg = _read_json(image_file)
    else:
        log.warning("%s: no preprocessor_config.json; using %s defaults", path, family.model_type)
        image_cfg = {"patch_size": family.patch_size, "image_mean": list(family.image_mean),
                     "image_std": list(family.image_std)}
    video_cfg = _read_json(video_file) if video_file.is_file() else None
    return VisionSpec.from_configs(image_cfg, video_cfg, budget=budget)


def _chat_template(path: Path, tok: Any, family: Family) -> None:
    if getattr(tok, "chat_template", None):
        return
    for name in ("chat_template.jinja", "chat_template.json"):
        f = path / name
        if f.is_file():
            tok.chat_template = f.read_text() if f.suffix == ".jinja" else _read_json(f)["chat_template"]
            return
    import trl.chat_template_utils as ctu

    log.warning("%s ships no chat template; using TRL's %s", path, family.trl_chat_template)
    tok.chat_template = getattr(ctu, family.trl_chat_template)


def load(path: str | Path, *, dtype: str = "auto", device: str = "cpu", attn_implementation: str | None = None,
         adapter: str | Path | None = None, trust_remote_code: bool = False) -> LoadedModel:
    """Load the checkpoint directory ``path`` (``config.json`` + weights + tokenizer).

    ``dtype``: ``auto`` (the checkpoint's; float32 on CPU), ``float32``, ``bfloat16`` or ``float16``.
    ``device``: a torch device (``cpu``, ``cuda:0``) or ``auto`` to shard the model over the visible GPUs.
    ``attn_implementation``: ``sdpa``, ``eager``, ``flash_attention_2``... (transformers' default if None).
    ``adapter``: a PEFT adapter directory applied on top (not merged).
    """
    import torch
    import transformers

    p = Path(path)
    if not p.is_dir():
        raise UserError(f"model directory not found: {p} (tempoforge loads local checkpoints only)")
    cfg_file = p / "config.json"
    if not cfg_file.is_file():
        raise UserError(f"{p}: no config.json; not a transformers checkpoint directory")
    model_type = _read_json(cfg_file).get("model_type")
    if not isinstance(model_type, str):
        raise UserError(f"{cfg_file}: no model_type field")
    family = get_family(model_type)
    if dtype not in _DTYPES:
        raise UserError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    torch_dtype: Any = dtype
    if dtype == "auto":
        torch_dtype = torch.float32 if str(device).startswith("cpu") else "auto"
    else:
        torch_dtype = getattr(torch, dtype)
    tok = transformers.AutoTokenizer.from_pretrained(p, trust_remote_code=trust_remote_code)
    _chat_template(p, tok, family)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if device == "auto":  # shard over the visible GPUs (accelerate's device_map)
        kwargs["device_map"] = "auto"
    model = getattr(transformers, family.model_class).from_pretrained(p, **kwargs)
    model = (model if device == "auto" else model.to(device)).eval()
    adapter_path = None
    if adapter is not None:
        adapter_path = Path(adapter)
        if not (adapter_path / "adapter_config.json").is_file():
            raise UserError(f"{adapter_path}: no adapter_config.json; not a PEFT adapter directory")
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path).eval()
    return LoadedModel(model=model, tokenizer=tok, family=family, vision=read_vision_spec(p, family), path=p,
                       adapter=adapter_path)

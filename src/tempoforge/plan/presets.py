"""A training preset -> the model it trains and one memory workload per stage.

The method is recognised by the preset's sections (``dpo`` + ``sft``: TEMPLE; ``masked`` + ``dense``:
TEMPURA; ``evidence`` + ``fpo``: D2VLM; ``grpo``: Tempo-R0) and the file is loaded with that method's own
config dataclass, so the plan reads exactly what ``tempoforge train`` would run. The model is the
preset's checkpoint directory when it exists, else the published architecture its name matches
(``/models/Qwen2.5-VL-7B-Instruct`` -> Qwen2.5-VL-7B, ``models/real_archs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tempoforge.errors import UserError
from tempoforge.models.families import Family, get_family
from tempoforge.models.tensorize import VisionSpec
from tempoforge.plan.estimate import Workload
from tempoforge.plan.shapes import VideoTokens, video_tokens

__all__ = ["ANSWER_TOKENS", "PROMPT_TOKENS", "ModelRef", "PresetPlan", "Stage", "read_preset", "resolve_model",
           "workload"]

PROMPT_TOKENS = 96  # system turn + chat template + a grounding / captioning question
# typical answer lengths per stage kind (a TEMPLE caption pair, a TEMPURA dense segmentation, ...)
ANSWER_TOKENS = {"dpo": 64, "sft": 128, "dense": 512, "evidence": 256, "fpo": 256}


@dataclass
class Stage:
    """One training stage of a preset, with the settings that decide its memory."""

    name: str
    kind: str  # sft | dpo | grpo | evidence | fpo
    settings: Any  # SFTSettings | DPOSettings | GRPOSettings | EvidenceTrainSettings
    answer_tokens: int

    @property
    def optim(self) -> Any:
        return self.settings.optim

    @property
    def lora(self) -> Any:
        return self.settings.lora

    @property
    def video(self) -> Any:
        return self.settings.video


@dataclass
class PresetPlan:
    method: str  # temple | tempura | d2vlm | tempo-r0
    path: Path
    config: Any  # the method's config dataclass, loaded from the preset
    stages: list[Stage] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.config.model)


def read_preset(path: str | Path) -> PresetPlan:
    """Load ``path`` with its method's config dataclass; one :class:`Stage` per distinct stage."""
    from tempoforge.config import load_config, read_yaml

    p = Path(path)
    if not p.is_file():
        raise UserError(f"preset not found: {p}")
    keys = set(read_yaml(p))
    if "dpo" in keys:
        from tempoforge.train.recipes.temple import TempleConfig

        tc = load_config(TempleConfig, p, None)
        rs = ", ".join(str(r) for r in tc.stages) if tc.schedule == "progressive" else "all"
        stages = [Stage(f"dpo (r = {rs})", "dpo", tc.dpo, ANSWER_TOKENS["dpo"])]
        if tc.order != "dpo-only":
            stages.append(Stage("sft", "sft", tc.sft, ANSWER_TOKENS["sft"]))
        return PresetPlan("temple", p, tc, stages)
    if {"masked", "dense"} <= keys:
        from tempoforge.train.recipes.tempura import ORDERS, TempuraConfig

        uc = load_config(TempuraConfig, p, None)
        stages = [Stage(f"{t} (sft)", "sft", getattr(uc, t), ANSWER_TOKENS["dense" if t == "dense" else "sft"])
                  for t in ORDERS[uc.order]]
        return PresetPlan("tempura", p, uc, stages)
    if {"evidence", "fpo"} & keys:
        from tempoforge.train.recipes.d2vlm import D2VLMConfig

        dc = load_config(D2VLMConfig, p, None)
        names = {"both": ["sft", "fpo"], "sft": ["sft"], "fpo": ["fpo"]}.get(dc.stage, [])
        stages = [Stage("evidence sft" if n == "sft" else "fpo", "evidence" if n == "sft" else "fpo",
                        getattr(dc, n), ANSWER_TOKENS["evidence" if n == "sft" else "fpo"]) for n in names]
        return PresetPlan("d2vlm", p, dc, stages)
    if "grpo" in keys:
        from tempoforge.train.recipes.tempo_r0 import TempoR0Config

        rc = load_config(TempoR0Config, p, None)
        s = rc.settings()
        return PresetPlan("tempo-r0", p, rc, [Stage("grpo", "grpo", s, s.max_new_tokens)])
    raise UserError(f"{p}: not a training preset (expected dpo/sft, masked/dense, evidence/fpo or grpo sections)")


@dataclass
class ModelRef:
    """A model's transformers config, preprocessing constants and where they came from."""

    config: Any
    spec: VisionSpec
    family: Family
    source: str  # "checkpoint DIR" or "published architecture NAME"
    real: Any = None  # the RealArch when the architecture is a published one


def resolve_model(model: str, layers: int | None = None) -> ModelRef:
    """The architecture of ``model``: its checkpoint's files, else the published one its name matches."""
    from tempoforge.models.real import arch_for_model, real_config

    p = Path(model)
    if (p / "config.json").is_file():
        import transformers

        from tempoforge.models.load import read_vision_spec

        cfg = transformers.AutoConfig.from_pretrained(p)
        fam = get_family(cfg.model_type)
        if layers is not None:
            cfg.get_text_config().num_hidden_layers = layers
        return ModelRef(cfg, read_vision_spec(p, fam), fam, f"checkpoint {p}")
    arch = arch_for_model(model)
    if arch is None:
        raise UserError(f"cannot tell the architecture of {model!r}: it is not a checkpoint directory and its "
                        "name matches no published one (e.g. .../Qwen2.5-VL-7B-Instruct); pass --model DIR")
    fam = get_family(arch.family)
    budget: Literal["per_frame", "total"] = "total" if fam.native_text_timestamps else "per_frame"
    spec = VisionSpec.from_configs(arch.preprocessor, arch.video_preprocessor, budget=budget)
    return ModelRef(real_config(arch, layers, layers), spec, fam, f"published architecture {arch.name}", arch)


def stage_video(stage: Stage, ref: ModelRef, source: tuple[int, int] = (720, 1280)) -> VideoTokens:
    """How the stage's video settings turn a ``source``-sized video into tokens for this model."""
    v = stage.video
    return video_tokens(ref.spec, v.max_frames, v.timestamps, max_pixels=v.max_pixels, source=source,
                        native_text_timestamps=ref.family.native_text_timestamps)


def workload(stage: Stage, vt: VideoTokens, *, prompt_tokens: int = PROMPT_TOKENS,
             answer_tokens: int | None = None) -> Workload:
    """The :class:`Workload` of one micro-step of ``stage`` on videos tokenised as ``vt``."""
    s, lora = stage.settings, stage.lora
    grpo = stage.kind == "grpo"
    return Workload(
        kind=stage.kind, batch=stage.optim.batch_size, video_tokens=vt.lm_tokens, vision_rows=vt.vision_rows,
        prompt_tokens=prompt_tokens, answer_tokens=answer_tokens if answer_tokens is not None else stage.answer_tokens,
        lora=lora.enabled, lora_r=lora.r, lora_dropout=lora.dropout > 0, train_vision=lora.train_vision,
        checkpointing=stage.optim.gradient_checkpointing, generations=s.num_generations if grpo else 1,
        reference_copy=grpo and not lora.enabled and s.beta != 0.0,
    )

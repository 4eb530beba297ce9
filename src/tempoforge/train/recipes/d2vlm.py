"""D2VLM: evidence-token SFT, then factorized preference optimization (METHODS.md 3).

    tempoforge synth fpo --in WORLD/annotations/dense.jsonl --out runs/fpo_pairs.jsonl
    tempoforge train d2vlm --config configs/train/d2vlm_tiny.yaml                 # stage: both
    tempoforge train d2vlm --config configs/train/d2vlm_tiny.yaml --stage fpo     # FPO from OUT/sft

Stage ``sft`` builds the evidence model on ``model`` (a checkpoint directory or ``tiny:<model_type>``; a
tiny model is saved to ``OUT/base`` first so the adapter has a base to refer to) and trains CE + L_gnd +
L_cons on the dense-captioning videos (``dense``: all events, ``<evi>`` per event) and the grounding
queries (``grounding``: one ``<evi>`` per ground-truth span). Stage ``fpo`` continues the SFT model
(``init``, default ``OUT/sft``; its adapter keeps training) on ``pairs``. Each stage saves an evidence model
(``load_evidence_model(OUT/<stage>)``), marks itself done (a rerun skips it), and, with ``eval_dense`` /
``eval_grounding``, predicts the held-out videos and writes ``predictions_*.jsonl`` and ``metrics.json``
(E.T. Bench TVG / DVC F1 and the evidence-part F1). Ablations: ``evidence.cons_weight: 0`` (no
consistency loss), ``evidence.inject: false`` (no visual semantics injection). Stage ``eval`` only scores a
saved evidence model. Predictions keep the detokenised answer (``answer``: each ``<evi>`` printed as
``"s - e"``), the evidence-part spans (``meta.evidence_spans``) and the raw response (``meta.raw``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempoforge.models.evidence_settings import EvidenceSettings
from tempoforge.presets import for_users
from tempoforge.train.recipes import recipe_ending
from tempoforge.train.settings import EvidenceTrainSettings

if TYPE_CHECKING:
    from tempoforge.train.fpo import EvidenceItem

__all__ = ["GROUNDING_PROMPT", "D2VLMConfig", "dense_items", "evaluate", "grounding_items", "run_d2vlm"]

HELP = "D2VLM: evidence-token SFT (CE + grounding + consistency) then FPO on factorized negatives"
DESCRIPTION = for_users(__doc__ or "")
log = logging.getLogger(__name__)

GROUNDING_PROMPT = 'Find the moments of the video described by the query, then describe them. Query: "{query}".'


@dataclass
class D2VLMConfig:
    """A D2VLM run: model, data, held-out evaluation and each stage's settings."""

    stage: str = field(default="both", metadata={"choices": ("sft", "fpo", "both", "eval"),
                                                 "help": "which stage; eval scores a saved model: init, "
                                                         "default OUT/fpo or OUT/sft"})
    model: str = field(default="tiny:qwen2_5_vl", metadata={"help": "base model directory or tiny:<model_type>"})
    init: str | None = field(default=None, metadata={"help": "fpo: evidence model to start from (default OUT/sft)"})
    dense: str | None = field(default=None, metadata={"help": "SFT dense-caption JSONL (DenseCaptionSample)"})
    grounding: str | None = field(default=None, metadata={"help": "SFT grounding JSONL (GroundingSample)"})
    pairs: str | None = field(default=None, metadata={"help": "FPO pairs JSONL (tempoforge synth fpo)"})
    eval_dense: str | None = field(default=None, metadata={"help": "held-out dense-caption JSONL to score"})
    eval_grounding: str | None = field(default=None, metadata={"help": "held-out grounding JSONL to score "
                                                                        "(single-span queries)"})
    eval_limit: int | None = field(default=None, metadata={"help": "score only the first N held-out samples"})
    max_new_tokens: int = field(default=128, metadata={"help": "generation cap at evaluation"})
    out: str = field(default="runs/d2vlm", metadata={"help": "output folder (sft/, fpo/ subfolders)"})
    seed: int = field(default=0, metadata={"help": "seed of the tiny model's initialisation"})
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    sft: EvidenceTrainSettings = field(default_factory=EvidenceTrainSettings)
    fpo: EvidenceTrainSettings = field(default_factory=lambda: EvidenceTrainSettings(beta=0.1))


def dense_items(path: Path) -> list[EvidenceItem]:
    """One item per video: the dense-captioning prompt, every event as an ``<evi>``."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.prompts import dense_captioning_prompt
    from tempoforge.models.video import resolve_video
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.factorized import EvidenceEvent, render_response
    from tempoforge.train.fpo import EvidenceItem

    out = []
    for s in read_jsonl(path, DenseCaptionSample):
        events = [EvidenceEvent(e.span, e.caption.strip()) for e in s.events]
        out.append(EvidenceItem(s.id, resolve_video(s.video, path.parent), dense_captioning_prompt(),
                                render_response(events, "d2vlm"), tuple(e.span for e in s.events)))
    return out


def grounding_items(path: Path) -> list[EvidenceItem]:
    """One item per relevant query: one ``<evi>`` per ground-truth span, the query as each event's text."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.video import resolve_video
    from tempoforge.records import GroundingSample
    from tempoforge.synth.factorized import EvidenceEvent, render_response
    from tempoforge.train.fpo import EvidenceItem

    out = []
    for s in read_jsonl(path, GroundingSample):
        if not s.relevant:
            continue
        events = [EvidenceEvent(sp, s.query) for sp in s.spans]
        out.append(EvidenceItem(s.id, resolve_video(s.video, path.parent), GROUNDING_PROMPT.format(query=s.query),
                                render_response(events, "d2vlm"), tuple(s.spans)))
    return out


def evaluate(elm: Any, cfg: D2VLMConfig, video: Any, out_dir: Path) -> dict[str, Any]:
    """Predict the held-out files and score them (``metrics.json`` beside the predictions)."""
    from tempoforge.eval.metrics.evidence import score_evidence_predictions
    from tempoforge.io.jsonl import atomic_write_text, read_jsonl
    from tempoforge.models.evidence_generate import predict_evidence
    from tempoforge.models.prompts import dense_captioning_prompt
    from tempoforge.records import DenseCaptionSample, GroundingSample

    got: dict[str, Any] = {}
    if cfg.eval_grounding:
        path = Path(cfg.eval_grounding)
        gs = [s for s in read_jsonl(path, GroundingSample) if s.relevant and len(s.spans) == 1][: cfg.eval_limit]
        got["grounding"] = predict_evidence(
            elm, gs, prompt=lambda s: GROUNDING_PROMPT.format(query=s.query), video=video, root=path.parent,
            out=out_dir / "predictions_grounding.jsonl", benchmark="tempoworld", max_new_tokens=cfg.max_new_tokens)
    if cfg.eval_dense:
        path = Path(cfg.eval_dense)
        ds = list(read_jsonl(path, DenseCaptionSample))[: cfg.eval_limit]
        got["dense"] = predict_evidence(
            elm, ds, prompt=lambda s: dense_captioning_prompt(), video=video, root=path.parent,
            out=out_dir / "predictions_dense.jsonl", benchmark="dense-captioning", max_new_tokens=cfg.max_new_tokens)
    if not got:
        return {}
    metrics = score_evidence_predictions(got.get("grounding", ()), got.get("dense", ()))
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def _on_main(save: Any) -> None:
    """Run ``save`` on the main process only; every rank waits for it (``accelerate launch``)."""
    from tempoforge.train.distributed import barrier, is_main_process

    if is_main_process():
        save()
    barrier()


def _sft(cfg: D2VLMConfig, out: Path) -> Any:
    from tempoforge.models.evidence import EvidenceModel, save_evidence_model
    from tempoforge.train.checkpoint import resolve_model, save_checkpoint
    from tempoforge.train.fpo import run_evidence_sft

    items: list[EvidenceItem] = []
    if cfg.dense:
        items += dense_items(Path(cfg.dense))
    if cfg.grounding:
        items += grounding_items(Path(cfg.grounding))
    if not items:
        from tempoforge.errors import UserError

        raise UserError("the sft stage needs dense and/or grounding data (--dense / --grounding)")
    lm = resolve_model(cfg.model, seed=cfg.seed)
    if lm.path is None:
        save_checkpoint(lm, out / "base")
    elm = EvidenceModel(lm, cfg.evidence)
    res = run_evidence_sft(elm, items, cfg.sft, out / "sft" / "trainer")
    _on_main(lambda: save_evidence_model(elm, out / "sft", video=asdict(cfg.sft.video)))
    return elm, {"loss": res.losses, **res.history}


def _fpo(cfg: D2VLMConfig, out: Path) -> Any:
    from tempoforge.errors import UserError
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.evidence import load_evidence_model, save_evidence_model
    from tempoforge.records import PreferencePair
    from tempoforge.train.fpo import run_fpo

    if not cfg.pairs:
        raise UserError("the fpo stage needs --pairs (tempoforge synth fpo)")
    elm = load_evidence_model(cfg.init or out / "sft", trainable=True)
    pairs = list(read_jsonl(Path(cfg.pairs), PreferencePair))
    res = run_fpo(elm, pairs, cfg.fpo, out / "fpo" / "trainer")
    _on_main(lambda: save_evidence_model(elm, out / "fpo", base=elm.lm.path, video=asdict(cfg.fpo.video)))
    return elm, {"loss": res.losses, **res.history}


def _eval_only(cfg: D2VLMConfig, out: Path) -> dict[str, Any]:
    """Score a saved evidence model (``init``, default ``OUT/fpo`` or else ``OUT/sft``) with the video
    sampling it was trained with."""
    from tempoforge.models.evidence import load_evidence_model
    from tempoforge.models.video import VideoSettings

    path = Path(cfg.init) if cfg.init else (out / "fpo" if (out / "fpo").is_dir() else out / "sft")
    elm = load_evidence_model(path)
    video = VideoSettings(**elm.video) if elm.video else cfg.sft.video
    metrics = evaluate(elm, cfg, video, out / "eval")
    return {"stages": ["eval"], "curves": {}, "metrics": {"eval": metrics}, "final": str(path)}


def run_d2vlm(cfg: D2VLMConfig) -> dict[str, Any]:
    """Run the configured stage(s); returns loss curves, metrics and the final evidence model path."""
    from tempoforge.errors import UserError
    from tempoforge.train.checkpoint import is_done, mark_done

    if cfg.stage not in ("sft", "fpo", "both", "eval"):
        raise UserError(f"stage must be sft, fpo, both or eval, got {cfg.stage!r}")
    out = Path(cfg.out)
    if cfg.stage == "eval":
        return _eval_only(cfg, out)
    stages = ["sft", "fpo"] if cfg.stage == "both" else [cfg.stage]
    result: dict[str, Any] = {"stages": stages, "curves": {}, "metrics": {}}
    for name in stages:
        stage_dir = out / name
        settings = cfg.sft if name == "sft" else cfg.fpo
        if is_done(stage_dir):
            log.info("stage %s already done (%s)", name, stage_dir)
            result["metrics"][name] = json.loads((stage_dir / "metrics.json").read_text()) \
                if (stage_dir / "metrics.json").is_file() else {}
            continue
        elm, curves = _sft(cfg, out) if name == "sft" else _fpo(cfg, out)
        result["curves"][name] = curves
        result["metrics"][name] = evaluate(elm, cfg, settings.video, stage_dir)
        mark_done(stage_dir, stage=name, **curves)
    result["final"] = str(out / stages[-1])
    return result


add_arguments, main = recipe_ending(D2VLMConfig, "d2vlm_", lambda cfg, args: run_d2vlm(cfg),
                                    summary=("stages", "final", "metrics"))

"""The D2VLM study: does factorized preference optimization (FPO) improve evidence grounding over SFT and DPO?

Design (issue 19; METHODS.md 3):

- **A start neither at the floor nor at the ceiling.** The TEMPLE study's starting model (``study/temple.py``:
  a tiny Qwen2.5-VL trained from scratch on grounding queries and chronological captions of the first
  ``base_videos`` training videos; reused from a TEMPLE study folder with ``base_from``), then the D2VLM
  recipe's ``sft`` stage (``train/recipes/d2vlm.py``: ``<evi>`` tokens, ``L_sft = CE + L_gnd + L_cons``, METHODS.md
  3.2) on the fresh training videos (``video_index >= base_videos``): every dense caption (all events) and
  every grounding query (one ``<evi>`` per span). ``sft_steps`` is meant to leave held-out R@0.7 around 0.3-0.6.
  That evidence model is ``sft`` (the base arm).
- **Factorized pairs of the same fresh videos** (METHODS.md 3.4, ``synth/factorized.py``): the dense-caption
  pairs of ``tempoforge synth fpo`` and the same negatives of every grounding query (one event: the query's
  span, the recipe's grounding prompt). Each rejected response changes one factor, recorded in
  ``meta.factor_kind``: ``grounding`` (``shift``, ``insert``, ``delete``, ``merge``) or ``text`` (``tamper``,
  ``repeat``). Every arm writes the pairs it trains on to ``arms/<arm>/pairs.jsonl``.
- **Matched steps.** Every arm after ``sft`` starts from the same ``sft`` model and makes ``steps`` optimiser
  steps at ``batch`` prompts per step, learning rate ``lr`` (cosine, no warm-up), full fine-tune:
  ``sft-more`` (control: the SFT loss on the SFT data: is it the preference or more training?), ``fpo``
  (the paper: ``L = L_sft(chosen) + L_FPO`` on all pairs, ``log pi(y)`` = token log-likelihood + grounding
  log-likelihood of the response's own spans, METHODS.md 3.3), ``dpo`` (the same loss and pairs with ``log
  pi(y)`` the token log-likelihood only: ``EvidenceTrainSettings.factorized = False``, the non-factorized
  preference), ``fpo-temporal`` (FPO on the grounding negatives only) and ``fpo-textual`` (FPO on the text
  negatives only). Arms with fewer pairs see them more often; the step count, batch and schedule are equal.

Metrics on held-out videos (another world seed), greedy evidence decoding (``predict_evidence`` through the
recipe's ``evaluate``) of the first ``eval_queries`` single-span grounding queries, one item per query (the
96-video held-out world has 216-232 of them for seeds 0-3: quick scores 150, full 200):

- ``grounding_f1`` (target): E.T. Bench TVG F1 (mean over IoU 0.1 / 0.3 / 0.5 / 0.7 of ``IoU >= t``,
  METRICS.md) of the *evidence part*: the evidence spans printed ``"s - e"`` and scored by the recipe's scorer
  (``score_evidence_predictions``), which keeps the first window; no evidence = unparseable = 0;
- ``evidence_miou``: the same scorer's mIoU (IoU of the first evidence span with the query's span);
- ``answer_accuracy``: the answer part (after ``</evi>``, spans removed) names the queried event exactly: its
  words equal the query's (no tampered key word, no repetition, nothing missing) -- what the text negatives
  target;
- ``grounding_f1_blank``: ``grounding_f1`` with grey frames (``VideoSettings(blank=True)``): what the model
  grounds without the video.

Groups for the intervals: a held-out video together with its time-reversed twin (``temple.group_of``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.study.core import ArmRun
from tempoforge.study.start import preset_fingerprint, shared_start
from tempoforge.study.stats import GroupScores
from tempoforge.study.temple import PRESETS as TEMPLE_PRESETS
from tempoforge.study.temple import (
    TemplePreset,
    group_of,
    video_index,
)

__all__ = ["ARMS", "PRESETS", "D2VLMPreset", "D2VLMStudy", "evaluate_d2vlm", "make_study", "pairs_of_kind"]

log = logging.getLogger(__name__)

ARMS = ("sft", "sft-more", "fpo", "dpo", "fpo-temporal", "fpo-textual")
# arm -> (factor kinds of its pairs, factorized log pi(y)); sft-more has no pairs
PREFERENCE = {"fpo": (("grounding", "text"), True), "dpo": (("grounding", "text"), False),
              "fpo-temporal": (("grounding",), True), "fpo-textual": (("text",), True)}
DESCRIPTIONS = {
    "sft": "the start: the TEMPLE study's base model + D2VLM evidence-token SFT (CE + L_gnd + L_cons) on fresh videos",
    "sft-more": "control: the same evidence SFT continued for the arms' steps (is it the preference or more SFT?)",
    "fpo": "D2VLM: FPO on factorized pairs with temporal and textual negatives (log pi = tokens + grounding)",
    "dpo": "plain DPO on the same pairs: the preference on the token log-likelihood only (not factorized)",
    "fpo-temporal": "FPO on the temporal negatives only (shift, insert, delete, merge)",
    "fpo-textual": "FPO on the textual negatives only (tamper, repeat)",
}
METRICS = ("grounding_f1", "evidence_miou", "answer_accuracy", "grounding_f1_blank")


@dataclass(frozen=True)
class D2VLMPreset:
    """Sizes of a D2VLM study; ``base`` is the TEMPLE preset whose worlds and starting model it uses."""

    name: str
    seeds: tuple[int, ...]
    base: TemplePreset
    sft_steps: int = 300             # evidence SFT making the start (the sft arm)
    sft_batch: int = 8
    sft_lr: float = 3e-3
    steps: int = 60                  # every arm's optimiser steps after the start
    batch: int = 4                   # prompts per step (FPO / DPO: pairs, one shared video encoding each)
    lr: float = 3e-4
    beta: float = 0.1                # FPO / DPO temperature (the paper's)
    inject_layer: int = 1            # the tiny model's intermediate layer for visual semantics injection
    max_new_tokens: int = 40
    eval_queries: int | None = 150   # held-out single-span grounding queries scored (None: all)


PRESETS: dict[str, D2VLMPreset] = {
    "quick": D2VLMPreset("quick", seeds=(0,), base=TEMPLE_PRESETS["quick"]),
    "full": D2VLMPreset("full", seeds=(1, 2, 3), base=TEMPLE_PRESETS["full"], steps=150, eval_queries=200),
    # seconds-long wiring check for the test suite (shows the machinery, not learning)
    "smoke": D2VLMPreset("smoke", seeds=(0,), base=TEMPLE_PRESETS["smoke"], sft_steps=2, sft_batch=2, steps=2,
                         batch=1, max_new_tokens=8, eval_queries=4),
}


def _video(p: D2VLMPreset, blank: bool = False) -> Any:
    """The TEMPLE base model's sampling (M-RoPE absolute time), optionally grey frames."""
    from tempoforge.models.video import VideoSettings

    return VideoSettings(fps=p.base.fps, max_frames=p.base.max_frames, timestamps="mrope", blank=blank)


def _write_records(path: Path, records: list[Any]) -> Path:
    """Records with their ``video`` relative to ``path``'s folder (as the recipe reads them); cached."""
    from tempoforge.io.jsonl import write_jsonl

    if not path.is_file():
        write_jsonl(path, [r.model_copy(update={"video": os.path.relpath(r.video, path.parent.resolve())})
                           for r in records])
    return path


def fresh_data(ann: Path, keep: Any, work: Path) -> tuple[Path, Path]:
    """(dense captions, grounding queries) of the kept training videos, as the recipe's SFT files; cached."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.video import resolve_video
    from tempoforge.records import DenseCaptionSample, GroundingSample

    def absolute(r: Any) -> Any:
        return r.model_copy(update={"video": str(Path(resolve_video(r.video, ann)).resolve())})

    dense = [absolute(d) for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample) if keep(d.id)]
    gnd = [absolute(g) for g in read_jsonl(ann / "grounding.jsonl", GroundingSample)
           if g.relevant and keep(g.id.rsplit("_", 1)[0])]
    return _write_records(work / "sft_dense.jsonl", dense), _write_records(work / "sft_grounding.jsonl", gnd)


def make_pairs(dense: Path, grounding: Path, seed: int, out: Path) -> Path:
    """Factorized pairs (METHODS.md 3.4) of every video of ``dense`` (``synth fpo``: the dense-captioning
    prompt) and of every query of ``grounding`` (one event: the query's span and text; the recipe's grounding
    prompt); videos absolute; cached."""
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.models.video import resolve_video
    from tempoforge.records import DenseCaptionSample, Event, GroundingSample
    from tempoforge.synth.factorized import factorized_pairs
    from tempoforge.synth.fpo import FPOSynthConfig, fpo_pairs
    from tempoforge.train.recipes.d2vlm import GROUNDING_PROMPT

    if out.is_file():
        return out
    syn = FPOSynthConfig(seed=seed)
    pairs = [q for d in read_jsonl(dense, DenseCaptionSample)
             for q in fpo_pairs(d, syn, str(Path(resolve_video(d.video, dense.parent)).resolve()))]
    for g in read_jsonl(grounding, GroundingSample):
        one = DenseCaptionSample(id=g.id, video=str(Path(resolve_video(g.video, grounding.parent)).resolve()),
                                 duration=g.duration or max(s.end for s in g.spans),
                                 events=[Event(span=s, caption=g.query) for s in g.spans])
        pairs += factorized_pairs(one, prompt=GROUNDING_PROMPT.format(query=g.query), factors=syn.factors,
                                  seed=seed)
    write_jsonl(out, pairs)
    return out


def pairs_of_kind(pairs: Path, kinds: tuple[str, ...], out: Path) -> Path:
    """The pairs whose negative is of one of ``kinds`` (``meta.factor_kind``: grounding / text); cached."""
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.records import PreferencePair

    if not out.is_file():
        write_jsonl(out, [q for q in read_jsonl(pairs, PreferencePair) if q.meta.get("factor_kind") in kinds])
    return out


@dataclass
class Prepared:
    """One seed's inputs: worlds, the TEMPLE base, the evidence SFT start, its data and the pairs."""

    seed: int
    train: Path
    heldout: Path
    base: str
    sft: str
    dense: Path
    grounding: Path
    pairs: Path


@dataclass
class D2VLMStudy:
    """:class:`~tempoforge.study.core.MethodStudy` for D2VLM."""

    p: D2VLMPreset
    quiet: bool = True
    method: str = "d2vlm"
    target: str = "grounding_f1"
    base_arm: str = "sft"
    method_arm: str = "fpo"
    arms: tuple[str, ...] = ARMS
    metrics: tuple[str, ...] = METRICS
    descriptions: dict[str, str] = field(default_factory=lambda: dict(DESCRIPTIONS))
    preset: str = ""
    base_from: Path | None = None  # a TEMPLE study folder whose worlds and starting models to reuse

    def __post_init__(self) -> None:
        self.preset = self.p.name

    def fingerprint(self) -> dict[str, Any]:
        return preset_fingerprint(self.p)

    def _settings(self, steps: int, batch: int, lr: float, seed: int, warmup: float = 0.0,
                  factorized: bool = True) -> Any:
        """One stage's settings: full fine-tune (vision trainable), the base model's sampling."""
        from tempoforge.train.base import OptimSettings
        from tempoforge.train.lora import LoraSettings
        from tempoforge.train.settings import EvidenceTrainSettings

        return EvidenceTrainSettings(beta=self.p.beta, factorized=factorized,
                                     optim=OptimSettings(learning_rate=lr, max_steps=steps, batch_size=batch,
                                                         warmup_ratio=warmup, seed=seed),
                                     lora=LoraSettings(enabled=False, train_vision=True), video=_video(self.p))

    def _config(self, seed: int, out: Path, **kw: Any) -> Any:
        from tempoforge.models.evidence_settings import EvidenceSettings
        from tempoforge.train.recipes.d2vlm import D2VLMConfig

        return D2VLMConfig(out=str(out), seed=seed, evidence=EvidenceSettings(inject_layer=self.p.inject_layer),
                           **kw)

    def _start(self, base: str, dense: Path, grounding: Path, seed: int, work: Path) -> str:
        """The recipe's ``sft`` stage on the fresh videos (cached by the recipe: ``OUT/sft`` marked done)."""
        from tempoforge.train.recipes.d2vlm import run_d2vlm

        p = self.p
        cfg = self._config(seed, work / "start", stage="sft", model=base, dense=str(dense), grounding=str(grounding),
                           sft=self._settings(p.sft_steps, p.sft_batch, p.sft_lr, seed, warmup=0.05))
        run_d2vlm(cfg)
        _drop_trainer(work / "start" / "sft" / "trainer", work / "start")
        return str(work / "start" / "sft")

    def prepare(self, seed: int, work: Path) -> Prepared:
        s = shared_start(self.p.base, seed, work, self.base_from, self.quiet)
        dense, grounding = fresh_data(s.train / "annotations", lambda v: video_index(v) >= self.p.base.base_videos,
                                      work)
        sft = self._start(s.base, dense, grounding, seed, work)
        pairs = make_pairs(dense, grounding, seed, work / "pairs.jsonl")
        return Prepared(seed, s.train, s.heldout, s.base, sft, dense, grounding, pairs)

    def base_model(self, prepared: Prepared) -> str:
        return prepared.sft

    def train_arm(self, arm: str, seed: int, prepared: Prepared, work: Path) -> ArmRun:
        import torch

        torch.manual_seed(seed)
        if arm == "sft-more":
            return self._sft_more(seed, prepared, work)
        from tempoforge.train.checkpoint import done_series
        from tempoforge.train.recipes.d2vlm import run_d2vlm

        kinds, factorized = PREFERENCE[arm]
        pairs = pairs_of_kind(prepared.pairs, kinds, work / "pairs.jsonl")
        p = self.p
        cfg = self._config(seed, work / "run", stage="fpo", init=prepared.sft, pairs=str(pairs),
                           fpo=self._settings(p.steps, p.batch, p.lr, seed, factorized=factorized))
        final = Path(run_d2vlm(cfg)["final"])
        _drop_trainer(final / "trainer", work)
        return ArmRun(str(final), {"fpo": done_series(final)})

    def _sft_more(self, seed: int, prepared: Prepared, work: Path) -> ArmRun:
        """The evidence SFT continued from ``sft`` for ``steps`` steps at ``batch`` items (cached)."""
        from tempoforge.models.evidence import load_evidence_model, save_evidence_model
        from tempoforge.train.checkpoint import done_series, is_done, mark_done
        from tempoforge.train.fpo import run_evidence_sft
        from tempoforge.train.recipes.d2vlm import dense_items, grounding_items

        out = work / "final"
        if not is_done(out):
            p = self.p
            settings = self._settings(p.steps, p.batch, p.lr, seed)
            elm = load_evidence_model(prepared.sft, trainable=True)
            res = run_evidence_sft(elm, dense_items(prepared.dense) + grounding_items(prepared.grounding), settings,
                                   work / "trainer")
            save_evidence_model(elm, out, video=asdict(settings.video))
            _drop_trainer(work / "trainer", work)
            mark_done(out, stage="sft-more", loss=res.losses, **res.history)
        return ArmRun(str(out), {"sft": done_series(out)})

    def evaluate(self, arm: str, model: str, prepared: Prepared, work: Path) -> dict[str, GroupScores]:
        return dict(evaluate_d2vlm(model, prepared.heldout, self.p, work))


def _drop_trainer(trainer: Path, work: Path) -> None:
    """Remove a finished trainer folder, keeping its run record (settings, losses) as ``work/train_record.json``."""
    record = trainer / "tempoforge_train.json"
    if record.is_file():
        shutil.copyfile(record, work / "train_record.json")
    shutil.rmtree(trainer, ignore_errors=True)


_WORDS = re.compile(r"[a-z]+")


def answer_correct(answer: str, query: str) -> bool:
    """Whether the answer part names exactly the queried event: its words (numbers, i.e. the printed spans,
    and punctuation dropped; case ignored) equal the query's."""
    return _WORDS.findall(answer.lower()) == _WORDS.findall(query.lower())


def evidence_scores(pred: Any) -> tuple[float, float]:
    """(E.T. Bench TVG F1, IoU) of one prediction's evidence part: its evidence spans printed as the answer and
    scored by the recipe's scorer (``score_evidence_predictions``: the first window counts; none = 0)."""
    from tempoforge.eval.metrics.evidence import score_evidence_predictions

    spans = pred.meta.get("evidence_spans") or []
    as_tvg = pred.model_copy(update={"answer": "; ".join(f"{s:.3f} - {e:.3f}" for s, e in spans)})
    et = score_evidence_predictions(grounding=[as_tvg])["grounding"]["etbench"]
    return float(et["F1"]), float(et["mIoU"])


def evaluate_d2vlm(model: str, heldout: Path, p: D2VLMPreset, work: Path) -> dict[str, dict[str, list[float]]]:
    """Every metric of ``METRICS`` for the evidence model ``model`` on the held-out world (per-group item
    scores); predictions and the recipe's aggregate ``metrics.json`` under ``work/eval[_blank]``."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.evidence import load_evidence_model
    from tempoforge.records import Prediction
    from tempoforge.train.recipes.d2vlm import evaluate

    ann = heldout / "annotations"
    group = group_of(ann)
    elm = load_evidence_model(model)
    cfg = _eval_config(ann, p)
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in METRICS}
    for blank in (False, True):
        out = work / ("eval_blank" if blank else "eval")
        evaluate(elm, cfg, _video(p, blank=blank), out)
        for pred in read_jsonl(out / "predictions_grounding.jsonl", Prediction):
            g = group[pred.id.rsplit("_", 1)[0]]
            f1, iou = evidence_scores(pred)
            if blank:
                scores["grounding_f1_blank"].setdefault(g, []).append(f1)
                continue
            scores["grounding_f1"].setdefault(g, []).append(f1)
            scores["evidence_miou"].setdefault(g, []).append(iou)
            scores["answer_accuracy"].setdefault(g, []).append(float(answer_correct(pred.answer, pred.query or "")))
    return scores


def _eval_config(ann: Path, p: D2VLMPreset) -> Any:
    from tempoforge.train.recipes.d2vlm import D2VLMConfig

    return D2VLMConfig(stage="eval", eval_grounding=str(ann / "grounding.jsonl"), eval_limit=p.eval_queries,
                       max_new_tokens=p.max_new_tokens)


def make_study(preset: D2VLMPreset, quiet: bool = True, base_from: Path | None = None) -> D2VLMStudy:
    """The study at ``preset`` (``tempoforge study d2vlm``); ``base_from``: a TEMPLE study folder to reuse."""
    return D2VLMStudy(preset, quiet=quiet, base_from=base_from)

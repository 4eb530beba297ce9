"""The TEMPURA study: does masked event prediction (stage 1) make dense event segmentation (stage 2) better?

Design (issue 19; METHODS.md 2.2-2.4; the first measurement compared one seed on 12 held-out videos):

- **Causal event scripts, enough videos.** The TEMPLE study's world (``study/temple.py``:
  ``causal_prob = 1``, one object acting in every event, so each event leaves the state the next one starts
  from; every odd video the time-reversed twin of the one before). TEMPURA's data comes from the
  ``temple_videos`` training videos the starting model never saw (320 in ``quick`` / ``full``), through
  TEMPURA's own VER pipeline with the oracle teacher (``synth/ver.py``: segmentation, validation,
  coherence, masked events; every event may be masked, ``interior_only = False``, so every video gives a
  stage-1 sample). Held-out: the 96 videos of another world seed.
- **The starting model is the demo's base** (``base_arm = "base"``): the TEMPLE study's tiny Qwen2.5-VL trained
  from scratch on grounding queries and chronological captions of the first ``base_videos`` (``--base-from``
  reuses a TEMPLE study folder's). It never saw the dense-captioning prompt, so it is the floor every arm
  starts from, not a competitor.
- **Equal total steps.** Every trained arm makes ``s1_steps + s2_steps`` full-fine-tune optimiser steps at the
  same batch and learning rate: ``s1-s2`` (TEMPURA, ``method_arm``), ``s2-only`` (stage 2 for all the steps:
  is it stage 1 or just more training?), ``s1random-s2`` (control: stage 1 on masks placed at random times
  -- same lengths, not on an event's boundaries, the target the event under most of the mask -- so the
  masked span no longer is one step of the causal chain), ``s2-s1`` (the paper's order ablation, scored
  on the stage-2 task it learned first).
- **Input.** Frames at ``fps`` (cap ``max_frames``) as video with M-RoPE absolute time, the starting model's
  own input, for every arm (deviation: the paper's overlay timestamps belong to its Qwen2.5-VL start; a
  switch here would confound the arms with an input change). Stage 1's masked frames are black and keep
  their time positions (``build_example(masked_spans=...)``).

Metrics on the held-out videos (groups for the intervals: a video with its twin):

- ``dense_f1`` (target): densevid's tIoU-matched F1 averaged over tIoU 0.3 / 0.5 / 0.7 / 0.9, *per video*
  (``F1(mean_t P_v, mean_t R_v)``) so the interval can resample videos; the official corpus figure,
  ``F1(mean_v P, mean_v R)``, is in each arm's ``corpus.json`` (``corpus_dense_f1``, with grey frames too);
- ``soda_c``: SODA_c (fujiso/SODA, METEOR with the reference as hypothesis) per video, as a fraction;
- ``grounding_miou``: single-moment grounding (ETChat convention) on ``eval_queries`` held-out queries --
  TEMPURA's claim that temporal grounding transfers, and a check that nothing breaks;
- ``dense_f1_blank`` / ``soda_c_blank`` / ``grounding_miou_blank``: the same with grey frames. A gain counts
  only if it is also a gain over the blank score (segment boundaries can be guessed from the prompt alone;
  SODA_c's captions cannot name the right object without the frames).
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.study.core import ArmRun
from tempoforge.study.stats import GroupScores
from tempoforge.study.temple import PRESETS as TEMPLE_PRESETS
from tempoforge.study.temple import TemplePreset

__all__ = ["ARMS", "PRESETS", "TempuraPreset", "TempuraStudy", "make_study", "random_mask_samples", "ver_samples"]

log = logging.getLogger(__name__)

ARMS = ("base", "s1-s2", "s2-only", "s1random-s2", "s2-s1")
DESCRIPTIONS = {
    "base": "the starting model (the demo's base: trained from scratch on grounding + chronological captions)",
    "s1-s2": "TEMPURA: masked event prediction (S1), then dense segmentation + captioning (S2)",
    "s2-only": "S2 for all the steps (is it S1 or more training?)",
    "s1random-s2": "control: S1 with masks at random times (same lengths, not event-aligned), then S2",
    "s2-s1": "the paper's order ablation: S2, then S1",
}
METRICS = ("dense_f1", "dense_f1_blank", "soda_c", "soda_c_blank", "grounding_miou", "grounding_miou_blank")


@dataclass(frozen=True)
class TempuraPreset:
    """Sizes of a TEMPURA study; ``base`` is the TEMPLE preset whose worlds and starting model it uses."""

    name: str
    seeds: tuple[int, ...]
    base: TemplePreset
    s1_steps: int = 150
    s2_steps: int = 150
    batch: int = 8
    lr: float = 1e-3
    max_new_tokens: int = 160     # a dense answer of 3-5 events is 70-120 tiny-tokenizer tokens
    eval_videos: int | None = None  # held-out videos scored on the dense task (None: all)


PRESETS: dict[str, TempuraPreset] = {
    "quick": TempuraPreset("quick", seeds=(0,), base=TEMPLE_PRESETS["quick"]),
    "full": TempuraPreset("full", seeds=(1, 2, 3), base=TEMPLE_PRESETS["full"]),
    "smoke": TempuraPreset("smoke", seeds=(0,), base=TEMPLE_PRESETS["smoke"], s1_steps=2, s2_steps=2, batch=2,
                           max_new_tokens=24, eval_videos=4),
}


def _video(p: TempuraPreset, blank: bool = False) -> Any:
    from tempoforge.models.video import VideoSettings

    return VideoSettings(fps=p.base.fps, max_frames=p.base.max_frames, timestamps="mrope", blank=blank)


def ver_samples(world: Path, keep: Any, out: Path) -> Path:
    """TEMPURA's VER pipeline (oracle teacher) on the videos of ``world`` that ``keep(video_id)`` selects;
    ``OUT/samples.jsonl`` (cached). Every event may be masked (``interior_only = False``): the TEMPLE world's
    videos have 2-3 events, so interior-only masking would leave half of them without a stage-1 sample."""
    from tempoforge.synth.ver import TempuraSynthConfig, run_ver

    path = out / "samples.jsonl"
    if not path.is_file():  # run_ver resumes an interrupted run and writes samples.jsonl last
        run_ver(TempuraSynthConfig(input=world, out=out, static_filter=False, interior_only=False), progress=False,
                only=keep)
    return path


def random_mask_samples(samples: Path, seed: int) -> Path:
    """The ``s1random-s2`` control's data: every stage-1 mask moved to a random time (the same length, drawn
    uniformly inside the video), its target the event under most of the new mask, its reasoning the events
    before and after that event; the stage-2 samples unchanged. Written next to ``samples`` (cached)."""
    import numpy as np

    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.models.prompts import masked_event_prompt
    from tempoforge.records import Span
    from tempoforge.synth.teachers.oracle import masked_reasoning
    from tempoforge.synth.tempura_samples import TempuraSample, masked_target

    path = samples.with_name("samples_random_masks.jsonl")
    if path.is_file():
        return path
    rows = []
    for s in read_jsonl(samples, TempuraSample):
        if s.task != "masked" or s.mask is None:
            rows.append(s)
            continue
        rng = np.random.default_rng([seed, zlib.crc32(s.id.encode())])
        length = s.mask.end - s.mask.start
        start = round(float(rng.uniform(0.0, max(0.0, s.duration - length))), 1)
        end = round(min(s.duration, start + length), 1)
        overlap = [max(0.0, min(end, e.span.end) - max(start, e.span.start)) for e in s.events]
        j = int(np.argmax(overlap))
        reasoning = masked_reasoning(start, end, s.events[j - 1].caption if j > 0 else None,
                                     s.events[j + 1].caption if j + 1 < len(s.events) else None)
        rows.append(s.model_copy(update={
            "id": f"{s.id}_random", "mask": Span.of(start, end), "prompt": masked_event_prompt(start, end),
            "answer": masked_target(reasoning, start, end, s.events[j].caption),
            "meta": {**s.meta, "random_mask": True, "masked_index": j, "reference": s.events[j].caption}}))
    write_jsonl(path, rows)
    return path


@dataclass
class Prepared:
    seed: int
    train: Path
    heldout: Path
    base: str
    samples: Path
    random_samples: Path


@dataclass
class TempuraStudy:
    """:class:`~tempoforge.study.core.MethodStudy` for TEMPURA."""

    p: TempuraPreset
    quiet: bool = True
    method: str = "tempura"
    target: str = "dense_f1"
    base_arm: str = "base"
    method_arm: str = "s1-s2"
    arms: tuple[str, ...] = ARMS
    metrics: tuple[str, ...] = METRICS
    descriptions: dict[str, str] = field(default_factory=lambda: dict(DESCRIPTIONS))
    preset: str = ""
    base_from: Path | None = None  # a TEMPLE study folder whose worlds and starting models to reuse

    def __post_init__(self) -> None:
        self.preset = self.p.name

    def fingerprint(self) -> dict[str, Any]:
        from tempoforge.study.start import preset_fingerprint

        return preset_fingerprint(self.p)

    def prepare(self, seed: int, work: Path) -> Prepared:
        from tempoforge.study.start import shared_start
        from tempoforge.study.temple import video_index

        s = shared_start(self.p.base, seed, work, self.base_from, self.quiet)
        samples = ver_samples(s.train, lambda v: video_index(v) >= self.p.base.base_videos, work / "ver")
        return Prepared(seed, s.train, s.heldout, s.base, samples, random_mask_samples(samples, seed))

    def base_model(self, prepared: Prepared) -> str:
        return prepared.base

    def arm_config(self, arm: str, prepared: Prepared, work: Path) -> Any:
        """The ``TempuraConfig`` of one arm: ``s1_steps + s2_steps`` steps in all, same batch and lr."""
        from tempoforge.train.base import OptimSettings
        from tempoforge.train.lora import LoraSettings
        from tempoforge.train.recipes.tempura import TempuraConfig
        from tempoforge.train.sft import SFTSettings

        p = self.p

        def stage(steps: int) -> SFTSettings:
            return SFTSettings(optim=OptimSettings(learning_rate=p.lr, max_steps=steps, batch_size=p.batch,
                                                   warmup_ratio=0.03, seed=prepared.seed),
                               lora=LoraSettings(enabled=False, train_vision=True), video=_video(p))

        order = {"s1random-s2": "s1-s2"}.get(arm, arm)
        s2 = p.s2_steps + (p.s1_steps if arm == "s2-only" else 0)
        data = prepared.random_samples if arm == "s1random-s2" else prepared.samples
        return TempuraConfig(model=prepared.base, data=str(data), out=str(work / "run"), order=order,
                             seed=prepared.seed, masked=stage(p.s1_steps), dense=stage(s2))

    def train_arm(self, arm: str, seed: int, prepared: Prepared, work: Path) -> ArmRun:
        import torch

        from tempoforge.train.checkpoint import done_series
        from tempoforge.train.recipes.tempura import run_tempura

        torch.manual_seed(seed)
        res = run_tempura(self.arm_config(arm, prepared, work))
        return ArmRun(res["final"], {stage: done_series(work / "run" / stage) for stage in res["stages"]})

    def evaluate(self, arm: str, model: str, prepared: Prepared, work: Path) -> dict[str, GroupScores]:
        return dict(evaluate_tempura(model, prepared.heldout, self.p, work))


def _dense_predictions(lm: Any, ann: Path, p: TempuraPreset, work: Path, blank: bool) -> dict[str, str]:
    """Greedy answers to the stage-2 prompt for the held-out videos: ``{video id: answer}``."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.config import PredictConfig
    from tempoforge.models.predict import predict
    from tempoforge.records import Prediction

    preds = work / f"dense{'_blank' if blank else ''}.jsonl"
    preds.unlink(missing_ok=True)
    predict(PredictConfig(benchmark="dense-captioning", data=ann / "dense.jsonl", out=preds, limit=p.eval_videos,
                          batch_size=8, fps=p.base.fps, max_frames=p.base.max_frames, timestamps="mrope",
                          max_new_tokens=p.max_new_tokens, blank=blank), lm=lm, quiet=True)
    return {r.id: r.answer for r in read_jsonl(preds, Prediction)}


def dense_scores(answers: dict[str, str], refs: dict[str, list[tuple[float, float, str]]],
                 meteor: Any = None) -> dict[str, Any]:
    """Per-video densevid F1 (tIoU 0.3-0.9 averaged, ``F1(mean_t P, mean_t R)``), per-video SODA_c F (when
    ``meteor`` is given) and the corpus densevid F1, from the answers' ``From s to e, caption.`` lines."""
    import numpy as np

    from tempoforge.eval.metrics.densevid import MAX_PROPOSALS, f1_from_pr, video_precision_recall
    from tempoforge.synth.tempura_samples import parse_dense_answer

    parsed = {v: parse_dense_answer(answers.get(v, "")) for v in refs}
    f1: dict[str, float] = {}
    ps, rs = [], []
    for v, ref in refs.items():
        p, r = video_precision_recall([(s, e) for s, e, _ in parsed[v]][:MAX_PROPOSALS], [[(s, e) for s, e, _ in ref]])
        ps.append(p.mean())
        rs.append(r.mean())
        f1[v] = f1_from_pr(float(p.mean()), float(r.mean()))
    out: dict[str, Any] = {"f1": f1, "corpus_f1": f1_from_pr(float(np.mean(ps)), float(np.mean(rs)))}
    if meteor is not None:
        from tempoforge.eval.metrics.soda import soda_c

        preds = {v: [((s, e), c) for s, e, c in parsed[v]] for v in refs}
        res = soda_c(preds, [{v: [((s, e), c) for s, e, c in ref] for v, ref in refs.items()}], meteor=meteor)
        out["soda"] = res["per_video_f1"]
    return out


def evaluate_tempura(model: str, heldout: Path, p: TempuraPreset, work: Path) -> dict[str, dict[str, list[float]]]:
    """Every metric of ``METRICS`` for ``model`` on the held-out world (per-group item scores); the corpus
    dense F1 goes to ``work/corpus.json``."""
    from tempoforge.eval.metrics.captions import CaptionScorer, java_available
    from tempoforge.io.jsonl import atomic_write_text, read_jsonl
    from tempoforge.models.load import load
    from tempoforge.records import DenseCaptionSample
    from tempoforge.study.temple import evaluate_grounding, group_of

    ann = heldout / "annotations"
    group = group_of(ann)
    dense = list(read_jsonl(ann / "dense.jsonl", DenseCaptionSample))[: p.eval_videos]
    refs = {d.id: [(e.span.start, e.span.end, e.caption) for e in d.events] for d in dense}
    lm = load(model)
    lm.model.eval()
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in METRICS}
    scorer = CaptionScorer(("METEOR",), use_java=True) if java_available() else None
    corpus = {}
    try:
        for blank in (False, True):
            res = dense_scores(_dense_predictions(lm, ann, p, work, blank), refs,
                               None if scorer is None else scorer.meteor)
            sfx = "_blank" if blank else ""
            corpus[f"corpus_dense_f1{sfx}"] = res["corpus_f1"]
            for v, f in res["f1"].items():
                scores[f"dense_f1{sfx}"].setdefault(group[v], []).append(f)
            for v, f in res.get("soda", {}).items():
                scores[f"soda_c{sfx}"].setdefault(group[v], []).append(f)
    finally:
        if scorer is not None:
            scorer.close()
    if scorer is None:
        log.warning("no java on PATH: SODA_c (METEOR) is not scored")
    scores.update({k: v for k, v in evaluate_grounding(lm, model, ann, p.base, work).items() if k in METRICS})
    atomic_write_text(work / "corpus.json", json.dumps(corpus) + "\n")
    return scores


def make_study(preset: TempuraPreset, quiet: bool = True, base_from: Path | None = None) -> TempuraStudy:
    """The study at ``preset`` (``tempoforge study tempura``); ``base_from``: a TEMPLE study folder to reuse."""
    return TempuraStudy(preset, quiet=quiet, base_from=base_from)

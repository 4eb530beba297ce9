"""The TEMPLE study: does progressive DPO before SFT teach a model to read the arrow of time from the frames?

Design (issue 17; every choice answers a flaw the first measurements found, ``../shared/DESIGN.md``):

- **A probe only the frames can answer.** TempoWorld with ``mirror_pairs``: every video has a time-reversed
  twin (``world/mirror.py``). The probe (``synth.temple.mirror_probe_pairs``) asks, for a held-out video V and
  its twin V', whether ``log p(reading of V | V) > log p(reading of V' | V)`` and the same for V'. Each caption
  is chosen once and rejected once, so a model that ignores the frames scores exactly 0.5; the rejected text
  is the time-reversed reading (order reversed *and* actions replaced by their opposites), so it is plausible
  text; the two readings have the same events and nearly the same length. ``order_preference_blank`` is the
  same probe with grey frames (0.5 by construction: the control that proves it).
- **Fresh data for the method.** The training world is split: the starting model (``base``, a tiny
  Qwen2.5-VL trained from scratch past its learning plateau on grounding queries and chronological captions)
  sees the first ``base_videos``; TEMPLE's pairs and its SFT data come from the other ``temple_videos``, so SFT
  does not just repeat the base's data. Held-out videos come from a world with another seed.
- **A real curriculum.** Pairs are made on ``clips = 32`` clips, so r = 16 / 8 / 4 / 2 give chunk sizes 2 / 4 /
  8 / 16 (``drop``, ``shuffle``, ``reverse``) and stretches of 30 / 28 / 24 / 16 clips read backwards
  (``mirror``); perturbations whose rejected reading contradicts itself are redrawn or skipped
  (``synth/readings.py``).
- **Matched compute.** Every trained arm makes ``4 * stage_steps + sft_steps`` optimiser steps at the same
  batch size and learning rates (every DPO stage at ``dpo_lr``, every SFT stage at ``lr``) from the same
  starting model (a DPO step scores two answers per prompt with one shared video encoding).

Arms: ``base`` (the starting model), ``progressive`` (TEMPLE: DPO r = 16 -> 8 -> 4 -> 2, a fresh LoRA merged
after each stage, then SFT), ``single`` (one DPO stage on all pairs, then SFT), ``sft-dpo`` (SFT, then the
progressive DPO), ``sft-only`` (SFT for all the steps), and two controls: ``dpo-flipped`` (progressive with
chosen / rejected swapped on a random half of the pairs: the same updates without a consistent preference)
and ``dpo-blank`` (progressive DPO on grey frames: what DPO learns from the text alone).

Metrics on held-out videos: ``order_preference`` (the target) and ``order_preference_blank``; single-moment
grounding as a check that nothing else breaks: ``grounding_r1_at_0.7`` and ``grounding_miou`` (ETChat
convention) with real frames and ``grounding_miou_blank`` with grey ones. Groups for the intervals: a held-out
video together with its twin.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tempoforge.study.core import ArmRun
from tempoforge.study.stats import GroupScores

__all__ = ["ARMS", "PRESETS", "TemplePreset", "TempleStudy", "evaluate_temple", "make_study", "temple_world_config"]

log = logging.getLogger(__name__)

ARMS = ("base", "progressive", "single", "sft-dpo", "sft-only", "dpo-flipped", "dpo-blank", "dpo-twins")
DESCRIPTIONS = {
    "base": "the starting model (trained from scratch on the first part of the training world)",
    "progressive": "TEMPLE: DPO r = 16 -> 8 -> 4 -> 2 (fresh LoRA merged after each stage), then SFT",
    "single": "one DPO stage on all pairs (same steps), then SFT (the paper's ablation)",
    "sft-dpo": "SFT first, then the progressive DPO stages (the paper's order ablation)",
    "sft-only": "SFT on the same fresh videos for all the steps (is it the DPO or the data?)",
    "dpo-flipped": "control: progressive DPO with chosen and rejected swapped on a random half of the pairs",
    "dpo-blank": "control: progressive DPO on grey frames (what DPO learns from the text alone), then SFT",
    "dpo-twins": "positive control: one DPO stage (same steps) on the probe's own kind of pair on the training "
                 "videos -- the whole video read backwards, balanced by its twin -- then SFT",
}
METRICS = ("order_preference", "order_preference_blank", "grounding_r1_at_0.7", "grounding_miou",
           "grounding_miou_blank")
BENCHMARK = "tempoworld"  # a name of the benchmark table: predict's prompt and data record, eval score's scorer
KINDS = ("drop", "shuffle", "reverse", "mirror")
STAGES = (16, 8, 4, 2)


@dataclass(frozen=True)
class TemplePreset:
    """Sizes of a TEMPLE study (``quick``: one seed in <= 10 min on 2 cores; ``full``: three seeds)."""

    name: str
    seeds: tuple[int, ...]
    base_videos: int = 4800       # training-world videos the starting model learns from (half are twins)
    temple_videos: int = 320      # further training-world videos: TEMPLE's pairs and SFT data
    heldout_videos: int = 96      # held-out world (another seed), half of them twins
    clips: int = 32
    fps: float = 1.0
    max_frames: int = 16
    base_steps: int = 1800
    base_batch: int = 32
    base_lr: float = 3e-3
    stage_steps: int = 60
    sft_steps: int = 30
    batch: int = 8
    lr: float = 3e-3              # SFT stages (and the SFT-only arm)
    # DPO stages of every DPO arm. Chosen on the tuning seed 0 only: at 3e-3 (the first studies) the r = 4 and
    # r = 2 stages' training loss climbs above ln 2 (mean 0.72 -> 0.78 over the r = 2 stage) and held-out order
    # preference fell 0.890 -> 0.768; at 1e-3 0.841, at 3e-4 0.878 with no stage's loss above ln 2 + 0.01.
    dpo_lr: float = 3e-4
    beta: float = 0.1
    lora_r: int = 8
    balanced: bool = True  # every perturbation also rendered as a video with its own pair (synth/perturb_video.py)
    eval_queries: int | None = 120  # held-out grounding queries scored (None: all)


PRESETS: dict[str, TemplePreset] = {
    "quick": TemplePreset("quick", seeds=(0,)),
    "full": TemplePreset("full", seeds=(1, 2, 3)),
    # seconds-long wiring check for the test suite (shows the machinery, not learning)
    "smoke": TemplePreset("smoke", seeds=(0,), base_videos=8, temple_videos=8, heldout_videos=4, clips=8,
                          max_frames=8, base_steps=4, base_batch=4, stage_steps=1, sft_steps=1, batch=2,
                          eval_queries=6),
}


def temple_world_config(workers: int = 2) -> Any:
    """TempoWorld for the study: one object acting in every event (causal), 2-3 reversible events, 8-12 s,
    every odd video the time-reversed twin of the one before (``mirror_pairs``)."""
    from tempoforge.world import preset_config

    return preset_config("tiny", max_objects=1, min_events=2, max_events=3, min_duration=8.0, max_duration=12.0,
                         causal_prob=1.0, actions=("appear", "disappear", "move", "grow", "shrink", "recolor"),
                         mirror_pairs=True, workers=workers)


def _video(p: TemplePreset, blank: bool = False) -> Any:
    from tempoforge.models.video import VideoSettings

    return VideoSettings(fps=p.fps, max_frames=p.max_frames, timestamps="mrope", blank=blank)


def video_index(video_id: str) -> int:
    """``tw00012`` -> 12."""
    return int(video_id.lstrip("tw").split("_")[0])


def supervised_items(ann: Path, clips: int, seed: int, keep: Any = None) -> list[Any]:
    """SFT items of a world: every grounding query ("From X to Y seconds.") and one chronological caption per
    video (the oracle reading of ``clips`` clips); ``keep(video_id)`` selects videos."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.prompts import grounding_prompt
    from tempoforge.models.video import resolve_video
    from tempoforge.records import DenseCaptionSample, GroundingSample
    from tempoforge.synth.perturb import perturbation_rng
    from tempoforge.synth.temple import CAPTION_PROMPTS, aggregate_captions, clip_spans, oracle_clip_captions
    from tempoforge.train.data import SFTItem

    items = []
    for g in read_jsonl(ann / "grounding.jsonl", GroundingSample):
        if keep is None or keep(g.id.rsplit("_", 1)[0]):
            s = g.spans[0]
            items.append(SFTItem(g.id, resolve_video(g.video, ann), grounding_prompt(g.query),
                                 f"From {s.start:.1f} to {s.end:.1f} seconds."))
    for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample):
        if keep is None or keep(d.id):
            k = int(perturbation_rng(d.id, "prompt", 0, seed).integers(len(CAPTION_PROMPTS)))
            caption = aggregate_captions(oracle_clip_captions(d, clip_spans(d.duration, clips)))
            items.append(SFTItem(f"{d.id}_cap", resolve_video(d.video, ann), CAPTION_PROMPTS[k], caption))
    return items


def train_base(items: list[Any], p: TemplePreset, seed: int, out: Path, family: str = "qwen2_5_vl") -> str:
    """The starting model: a tiny model trained from scratch (full fine-tune, step-based schedule); cached."""
    from tempoforge.models.tiny import build_tiny
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.checkpoint import is_done, mark_done, save_checkpoint
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.sft import SFTSettings, run_sft

    model_dir = out / "model"
    if is_done(model_dir):
        return str(model_dir)
    lm = build_tiny(family, seed=seed)
    settings = SFTSettings(optim=OptimSettings(learning_rate=p.base_lr, max_steps=p.base_steps, batch_size=p.base_batch,
                                               warmup_ratio=0.02, seed=seed),
                           lora=LoraSettings(enabled=False, train_vision=True), video=_video(p))
    res = run_sft(lm, items, settings, out / "trainer")
    lm.model = res.model
    save_checkpoint(lm, model_dir)
    shutil.rmtree(out / "trainer", ignore_errors=True)
    mark_done(model_dir, stage="base", loss=res.losses, items=len(items))
    return str(model_dir)


def make_pairs(ann: Path, p: TemplePreset, seed: int, out: Path, keep: Any = None) -> Path:
    """TEMPLE pairs (``KINDS`` x ``STAGES`` on ``p.clips`` oracle clip readings) of the selected videos; cached."""
    from tempoforge.io.jsonl import read_jsonl, write_jsonl
    from tempoforge.models.video import resolve_video
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.readings import oracle_clip_readings
    from tempoforge.synth.temple import TempleSynthConfig, clip_spans, temple_pairs

    path = out / "pairs.jsonl"
    if path.is_file():
        return path
    syn = TempleSynthConfig(kinds=list(KINDS), r=list(STAGES), clips=p.clips, seed=seed, captioner="oracle",
                            balanced=p.balanced)
    pairs, skipped = [], []
    for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample):
        if keep is None or keep(d.id):
            got, skip = temple_pairs(d, oracle_clip_readings(d, clip_spans(d.duration, p.clips)), syn,
                                     video=resolve_video(d.video, ann), render_to=out / "perturbed_videos")
            pairs += got
            skipped += skip
    write_jsonl(out / "pairs.skipped.jsonl", skipped)
    write_jsonl(path, pairs)
    return path


def group_of(ann: Path) -> dict[str, str]:
    """Held-out video id -> its group (the original of a twin pair)."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import DenseCaptionSample

    return {d.id: str(d.meta.get("mirror_of", d.id)) for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample)}


def evaluate_temple(model: str, heldout: Path, p: TemplePreset, work: Path) -> dict[str, dict[str, list[float]]]:
    """Every metric of ``METRICS`` for ``model`` on the held-out world ``heldout`` (per-group item scores)."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.models.load import load
    from tempoforge.records import DenseCaptionSample
    from tempoforge.synth.temple import mirror_probe_pairs
    from tempoforge.train.dpo import preference_margins

    ann = heldout / "annotations"
    lm = load(model)
    lm.model.eval()
    probe = mirror_probe_pairs(list(read_jsonl(ann / "dense.jsonl", DenseCaptionSample)), p.clips, root=ann)
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in METRICS}  # metric -> group -> items
    for blank in (False, True):
        margins = preference_margins(lm, probe, _video(p, blank=blank))
        name = "order_preference_blank" if blank else "order_preference"
        for pair, m in zip(probe, margins.tolist(), strict=True):
            scores[name].setdefault(str(pair.meta["group"]), []).append(1.0 if m > 0 else 0.0)
    scores.update(evaluate_grounding(lm, model, ann, p, work))
    return dict(scores)


def evaluate_grounding(lm: Any, model: str, ann: Path, p: TemplePreset, work: Path) -> dict[str, dict[str, list[float]]]:
    """Single-moment grounding on the first ``p.eval_queries`` queries of ``ann/grounding.jsonl`` (ETChat
    convention), with real and grey frames: ``grounding_r1_at_0.7``, ``grounding_miou`` and
    ``grounding_miou_blank`` as per-group item scores (groups: ``group_of``); predictions in ``work``."""
    from tempoforge.eval.score import score
    from tempoforge.models.config import PredictConfig
    from tempoforge.models.predict import predict

    group = group_of(ann)
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in ("grounding_r1_at_0.7", "grounding_miou",
                                                                  "grounding_miou_blank")}
    for blank in (False, True):
        preds = work / f"grounding{'_blank' if blank else ''}.jsonl"
        preds.unlink(missing_ok=True)
        predict(PredictConfig(model=Path(model), benchmark=BENCHMARK, data=ann / "grounding.jsonl", out=preds,
                              limit=p.eval_queries, batch_size=8, fps=p.fps, max_frames=p.max_frames,
                              max_new_tokens=24, blank=blank), lm=lm, quiet=True)
        for row in score(BENCHMARK, preds, convention="etchat").details["rows"]:
            g = group[row["id"].rsplit("_", 1)[0]]
            iou = float(row["iou"])
            if blank:
                scores["grounding_miou_blank"].setdefault(g, []).append(iou)
            else:
                scores["grounding_miou"].setdefault(g, []).append(iou)
                scores["grounding_r1_at_0.7"].setdefault(g, []).append(1.0 if iou >= 0.7 else 0.0)
    return scores


def generate_worlds(p: TemplePreset, seed: int, root: Path, quiet: bool = True) -> tuple[Path, Path]:
    """The training world (``base_videos + temple_videos``) and the held-out world (another world seed)."""
    from tempoforge.world import generate_world

    cfg = temple_world_config()
    train = generate_world(root / "train", p.base_videos + p.temple_videos, seed=1000 * seed + 1, config=cfg,
                           progress=not quiet).root
    heldout = generate_world(root / "heldout", p.heldout_videos, seed=1000 * seed + 2, config=cfg,
                             progress=not quiet).root
    return train, heldout


def prepare_seed(p: TemplePreset, seed: int, world_root: Path, work: Path, quiet: bool = True) -> Prepared:
    """Worlds, the starting model (on the first ``base_videos``), and TEMPLE's pairs and SFT data (on the
    rest) for one seed; every piece is cached under ``work``."""

    train, heldout = generate_worlds(p, seed, world_root, quiet)
    ann = train / "annotations"

    def in_base(vid: str) -> bool:
        return video_index(vid) < p.base_videos

    base = train_base(supervised_items(ann, p.clips, seed, keep=in_base), p, seed, work / "base")
    pairs = make_pairs(ann, p, seed, work, keep=lambda v: not in_base(v))
    sft = write_sft_file(work / "sft.jsonl", lambda: supervised_items(ann, p.clips, seed, keep=lambda v: not in_base(v)))
    return Prepared(seed, train, heldout, base, pairs, sft)


def write_sft_file(sft: Path, items: Any) -> Path:
    """The SFT stage's data file (cached: written once from ``items()``, a list of ``SFTItem``).

    Video paths are written relative to the file's folder, as the recipe reads them, so a study folder given
    as a relative path (the demo's) or moved as a whole still resolves."""
    from tempoforge.io.jsonl import write_jsonl

    if not sft.is_file():
        write_jsonl(sft, [{"id": i.id, "video": os.path.relpath(Path(i.video).resolve(), sft.parent.resolve()),
                           "prompt": i.prompt, "answer": i.answer} for i in items()])
    return sft


def arm_config(arm: str, p: TemplePreset, prepared: Prepared, pairs: Path, out: Path) -> Any:
    """The ``TempleConfig`` of one arm: the same optimiser steps and batch for every arm; every DPO stage at
    ``p.dpo_lr``, every SFT stage at ``p.lr``."""
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.dpo import DPOSettings
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.recipes.temple import TempleConfig
    from tempoforge.train.sft import SFTSettings

    stage_steps = p.stage_steps * (len(STAGES) if arm in ("single", "dpo-twins") else 1)
    sft_steps = p.sft_steps + (len(STAGES) * p.stage_steps if arm == "sft-only" else 0)
    dpo_opt = OptimSettings(learning_rate=p.dpo_lr, max_steps=stage_steps, batch_size=p.batch, warmup_ratio=0.0,
                            seed=prepared.seed)
    return TempleConfig(
        model=prepared.base, pairs=str(pairs), sft_data=str(prepared.sft), out=str(out), seed=prepared.seed,
        stages=list(STAGES), schedule="single" if arm in ("single", "dpo-twins") else "progressive",
        order="sft-dpo" if arm == "sft-dpo" else "dpo-sft",
        dpo=DPOSettings(beta=p.beta, optim=dpo_opt, lora=LoraSettings(r=p.lora_r, alpha=2 * p.lora_r, dropout=0.0),
                        video=_video(p, blank=arm == "dpo-blank")),
        sft=SFTSettings(optim=replace(dpo_opt, learning_rate=p.lr, max_steps=sft_steps),
                        lora=LoraSettings(r=p.lora_r, alpha=p.lora_r, train_vision=True), video=_video(p)))


@dataclass
class Prepared:
    """One seed's inputs: worlds, the starting model, pairs and SFT data."""

    seed: int
    train: Path
    heldout: Path
    base: str
    pairs: Path
    sft: Path


@dataclass
class TempleStudy:
    """:class:`~tempoforge.study.core.MethodStudy` for TEMPLE."""

    p: TemplePreset
    quiet: bool = True
    method: str = "temple"
    target: str = "order_preference"
    base_arm: str = "base"
    method_arm: str = "progressive"
    arms: tuple[str, ...] = ARMS
    metrics: tuple[str, ...] = METRICS
    descriptions: dict[str, str] = field(default_factory=lambda: dict(DESCRIPTIONS))

    preset: str = ""

    def __post_init__(self) -> None:
        self.preset = self.p.name

    def fingerprint(self) -> dict[str, Any]:
        d = asdict(self.p)
        d.pop("seeds")
        return d

    def prepare(self, seed: int, work: Path) -> Prepared:
        return prepare_seed(self.p, seed, work / "world", work, quiet=self.quiet)

    def base_model(self, prepared: Prepared) -> str:
        return prepared.base

    def _config(self, arm: str, prepared: Prepared, work: Path) -> Any:
        return arm_config(arm, self.p, prepared, self._pairs(arm, prepared, work), work / "run")

    def _pairs(self, arm: str, prepared: Prepared, work: Path) -> Path:
        """The arm's pairs: the seed's pairs; (``dpo-flipped``) them with a random half swapped; (``dpo-twins``)
        the balanced whole-video reversals of the TEMPLE videos (``mirror_probe_pairs``)."""
        import numpy as np

        from tempoforge.io.jsonl import read_jsonl, write_jsonl
        from tempoforge.records import DenseCaptionSample, PreferencePair

        if arm == "dpo-twins":
            path = work / "pairs_twins.jsonl"
            if not path.is_file():
                from tempoforge.synth.temple import mirror_probe_pairs

                ann = prepared.train / "annotations"
                fresh = [d for d in read_jsonl(ann / "dense.jsonl", DenseCaptionSample)
                         if video_index(d.id) >= self.p.base_videos]
                write_jsonl(path, mirror_probe_pairs(fresh, self.p.clips, root=ann))
            return path
        if arm != "dpo-flipped":
            return prepared.pairs

        path = work / "pairs_flipped.jsonl"
        if not path.is_file():
            pairs = list(read_jsonl(prepared.pairs, PreferencePair))
            flip = np.random.default_rng([prepared.seed, 7]).random(len(pairs)) < 0.5
            write_jsonl(path, [q.model_copy(update={"chosen": q.rejected, "rejected": q.chosen}) if f else q
                               for q, f in zip(pairs, flip.tolist(), strict=True)])
        return path

    def train_arm(self, arm: str, seed: int, prepared: Prepared, work: Path) -> ArmRun:
        import torch

        from tempoforge.train.checkpoint import (
            done_series,
            is_done,
            mark_done,
            resolve_model,
            save_checkpoint,
        )
        from tempoforge.train.recipes.temple import _sft_items, run_temple
        from tempoforge.train.sft import run_sft

        cfg = self._config(arm, prepared, work)
        torch.manual_seed(seed)  # LoRA initialisation
        if arm != "sft-only":
            res = run_temple(cfg)
            return ArmRun(res["final"], {k: _series(v) for k, v in res["curves"].items()})
        stage = work / "run" / "sft"
        if not is_done(stage):
            lm = resolve_model(cfg.model)
            r = run_sft(lm, _sft_items(cfg, [], Path(cfg.pairs).parent), cfg.sft, stage / "trainer")
            lm.model = r.model
            save_checkpoint(lm, stage)
            mark_done(stage, stage="sft", loss=r.losses)
        return ArmRun(str(stage), {"sft": done_series(stage)})

    def evaluate(self, arm: str, model: str, prepared: Prepared, work: Path) -> dict[str, GroupScores]:
        return dict(evaluate_temple(model, prepared.heldout, self.p, work))


def _series(curve: dict[str, Any]) -> dict[str, list[float]]:
    return {k: [float(x) for x in v] for k, v in curve.items() if isinstance(v, list)}


def make_study(preset: TemplePreset, quiet: bool = True) -> TempleStudy:
    """The study at ``preset`` (``tempoforge study temple``)."""
    return TempleStudy(preset, quiet=quiet)

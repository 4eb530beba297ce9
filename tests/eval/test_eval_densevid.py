"""Dense captioning localisation (densevid_eval) and SODA_c — METRICS.md section 3, hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.eval.metrics.densevid import densevid_detection, f1_from_pr, video_precision_recall
from tempoforge.eval.metrics.soda import max_alignment, soda_c, soda_video


# ------------------------------------------------------------------------------------- detection P / R
def test_strictly_greater_than_threshold() -> None:
    # at t = 0 a disjoint prediction has tIoU 0, and 0 > 0 is false: not covered
    p, r = video_precision_recall([[20, 30]], [[[0, 10]]], tious=(0.0,))
    assert p[0] == 0.0 and r[0] == 0.0
    # [0, 5] vs [0, 10]: tIoU = 5 / (10 + 1e-8) < 0.5 -> not covered at 0.5, covered at 0.3
    p, r = video_precision_recall([[0, 5]], [[[0, 10]]], tious=(0.3, 0.5))
    assert p.tolist() == [1.0, 0.0] and r.tolist() == [1.0, 0.0]


def test_duplicates_all_count_as_precise() -> None:
    # GT [0,10], [20,30]; preds [0,10] twice and [50,60]: 2 of 3 preds covered, 1 of 2 GT covered
    p, r = video_precision_recall([[0, 10], [0, 10], [50, 60]], [[[0, 10], [20, 30]]], tious=(0.5,))
    assert p[0] == pytest.approx(2 / 3) and r[0] == 0.5


def test_best_precision_and_best_recall_taken_independently_over_references() -> None:
    # ref A: [0,10]        -> P = 1/2 (only pred [0,10] covered), R = 1/1
    # ref B: [50,60], [0,10], [20,30] -> P = 2/2, R = 2/3
    # best P = 1 (from B) and best R = 1 (from A): no single reference gives both
    preds = {"v": [[0, 10], [20, 30]]}
    refs = [{"v": [[0, 10]]}, {"v": [[50, 60], [0, 10], [20, 30]], "w": [[0, 5]]}]
    out = densevid_detection(preds, refs, tious=(0.5,))
    # videos = union {v, w}; w has no prediction -> 0/0; mean over the 2 GT videos
    assert out["Precision"]["0.5"] == 0.5 and out["Recall"]["0.5"] == 0.5
    assert out["num_videos"] == 2


def test_predicted_videos_outside_gt_are_ignored_and_empty_lists_do_not_crash() -> None:
    refs = [{"a": [[0, 10]], "b": [[0, 10]]}]
    # "a" has an empty list (the official script divides by a stale index / crashes): documented 0 / 0
    out = densevid_detection({"a": [], "b": [[0, 10]], "zzz": [[0, 10]]}, refs, tious=(0.5,))
    assert out["Precision"]["0.5"] == 0.5 and out["Recall"]["0.5"] == 0.5


def test_only_first_1000_predictions_are_used() -> None:
    preds = {"v": [[100, 101]] * 1000 + [[0, 10]]}
    refs = [{"v": [[0, 10]]}]
    out = densevid_detection(preds, refs, tious=(0.5,))
    assert out["Precision"]["0.5"] == 0.0 and out["Recall"]["0.5"] == 0.0
    out = densevid_detection(preds, refs, tious=(0.5,), max_proposals=None)
    assert out["Precision"]["0.5"] == pytest.approx(1 / 1001) and out["Recall"]["0.5"] == 1.0


def test_f1_is_derived_from_threshold_averaged_p_and_r() -> None:
    # GT [0,10], [20,30]; preds [0,10], [22,30] (tIoU .8), [50,60]
    # t=.5: P 2/3, R 1 ; t=.9: P 1/3, R 1/2  -> avg P = .5, avg R = .75 -> F1 = 2*.5*.75/1.25 = .6
    preds = {"v": [[0, 10], [22, 30], [50, 60]]}
    out = densevid_detection(preds, [{"v": [[0, 10], [20, 30]]}], tious=(0.5, 0.9))
    assert out["Precision"]["average"] == pytest.approx(0.5)
    assert out["Recall"]["average"] == pytest.approx(0.75)
    assert out["F1"]["average"] == pytest.approx(0.6)
    # per threshold: t=.5 -> 2*(2/3)*1/(5/3) = .8 ; t=.9 -> 2*(1/3)*(1/2)/(5/6) = .4
    assert out["F1"]["0.5"] == pytest.approx(0.8) and out["F1"]["0.9"] == pytest.approx(0.4)
    assert f1_from_pr(0.0, 0.0) == 0.0


# ---------------------------------------------------------------------------------------------- SODA
def test_max_alignment_is_order_preserving() -> None:
    assert max_alignment(np.array([[1.0, 0.0], [0.0, 1.0]])) == (2.0, [(0, 0), (1, 1)])
    # anti-diagonal: both pairs cross, only one can be taken
    assert max_alignment(np.array([[0.0, 1.0], [1.0, 0.0]]))[0] == 1.0
    # options: (0,1)+(1,2) = .9 + .3 = 1.2 beats (0,0)+(1,2) = .8, (1,0) = .8, (0,1) = .9
    total, pairs = max_alignment(np.array([[0.5, 0.9, 0.0], [0.8, 0.0, 0.3]]))
    assert total == pytest.approx(1.2) and pairs == [(0, 1), (1, 2)]
    assert max_alignment(np.zeros((0, 3))) == (0.0, [])


def same_sentence(gts: list[str], preds: list[str]) -> np.ndarray:
    return np.array([[1.0 if g == p else 0.0 for p in preds] for g in gts])


def test_soda_video_precision_recall_f() -> None:
    # S = tIoU * sim; one aligned pair with tIoU 1 (minus 1e-8) -> total ~1; P = 1/2, R = 1/1, F = 2/3
    p, r, f = soda_video([((0, 10), "a")], [((0, 10), "a"), ((20, 30), "b")], same_sentence)
    assert (p, r, f) == pytest.approx((0.5, 1.0, 2 / 3))
    assert soda_video([((0, 10), "a")], [((50, 60), "a")], same_sentence) == (0.0, 0.0, 0.0)  # F 0, P+R=0


def test_soda_c_sorting_merging_and_multi_reference() -> None:
    refs = [{"v": [((0, 10), "a")], "only_gt": [((0, 1), "x")]}, {"v": [((10, 20), "b")]}]
    preds = {"v": [((10, 20), "b"), ((0, 10), "a")], "only_pred": [((0, 1), "y")]}  # unsorted
    # merged refs sorted by start: a, b ; preds sorted: a, b -> diagonal -> P = R = F = 1
    out = soda_c(preds, refs, similarity=same_sentence)
    assert (out["precision"], out["recall"], out["f1"]) == (100.0, 100.0, 100.0)
    assert out["num_videos"] == 1 and out["missing"] == 1  # only_gt is not penalised
    # multi-reference: each file alone has 1 GT: P = 1/2, R = 1, F = 2/3 -> best F 66.6667
    out = soda_c(preds, refs, similarity=same_sentence, multi_reference=True)
    assert (out["precision"], out["recall"], out["f1"]) == (50.0, 100.0, 66.6667)


def test_soda_c_without_common_videos_is_an_error() -> None:
    with pytest.raises(UserError, match="no video is present in both"):
        soda_c({"a": [((0, 1), "x")]}, [{"b": [((0, 1), "x")]}], similarity=same_sentence)


@pytest.mark.integration
def test_soda_c_with_real_meteor() -> None:
    from tempoforge.eval.metrics.captions import java_available

    if not java_available():
        pytest.skip("needs java for METEOR")
    refs = [{"v": [((0, 10), "a man slices the bread"), ((10, 20), "he spreads butter on it")]}]
    good = soda_c({"v": [((0, 10), "a man slices the bread"), ((10, 20), "he spreads butter on it")]}, refs)
    bad = soda_c({"v": [((0, 10), "the stock market crashed today"), ((10, 20), "rain in spain")]}, refs)
    # 2 predictions and 2 GT: P = R = F; METEOR of an identical sentence is high but below 1 (fragmentation)
    assert good["precision"] == good["recall"] == good["f1"]
    assert 50.0 < good["f1"] <= 100.0 and bad["f1"] < 20.0

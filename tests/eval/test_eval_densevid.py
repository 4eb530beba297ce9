"""Dense captioning localisation (densevid_eval) and SODA_c — METRICS.md section 3, hand-made cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.eval.metrics.densevid import densevid_detection, f1_from_pr, video_precision_recall
from tempoforge.eval.metrics.soda import (
    max_alignment,
    meteor_score_matrix,
    soda_c,
    soda_tokenize,
    soda_video,
)

T = 10 / (10 + 1e-8)  # densevid/SODA tIoU of two identical 10-s windows (the 1e-8 in the denominator)


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


class OverlapMeteor:
    """A METEOR stand-in with pycocoevalcap's ``compute_score(gts, res)``: score = |hyp & ref| / |hyp|.

    Asymmetric like METEOR, so it shows which sentence the caller passes as the hypothesis (``res``).
    """

    def compute_score(
        self, gts: dict[int, list[str]], res: dict[int, list[str]]
    ) -> tuple[float, list[float]]:
        assert gts.keys() == res.keys() and all(len(h) == 1 for h in res.values())
        scores = []
        for k in res:
            hyp, ref = res[k][0].split(), set(gts[k][0].split())
            scores.append(sum(w in ref for w in hyp) / len(hyp))
        return float(np.mean(scores)), scores


def test_soda_meteor_matrix_takes_the_gt_sentence_as_hypothesis() -> None:
    # soda.py calc_score_matrix calls compute_score(res=preds, gt) into the signature (gts, res): the GT
    # sentence is the hypothesis. GT "a b c d" vs pred "a b": |{a, b}| / |hyp = 4 words| = 0.5 (the other
    # way round it would be 2 / 2 = 1.0); vs pred "x": 0 / 4 = 0. GT "a" vs "a b": 1 / 1 = 1; vs "x": 0.
    out = meteor_score_matrix(OverlapMeteor(), ["a b c d", "a"], ["a b", "x"])
    np.testing.assert_array_equal(out, [[0.5, 0.0], [1.0, 0.0]])
    assert meteor_score_matrix(OverlapMeteor(), ["a"], []).shape == (1, 0)


def test_soda_c_meteor_orientation_end_to_end() -> None:
    # one video, GT "a b c d" [0, 10], pred "a b" [0, 10]: S = T * 0.5 -> P = R = F = 50 * T -> 50.0
    out = soda_c({"v": [((0, 10), "a b")]}, [{"v": [((0, 10), "a b c d")]}], meteor=OverlapMeteor())
    assert (out["precision"], out["recall"], out["f1"]) == (50.0, 50.0, 50.0)


def test_soda_c_ties_keep_submission_and_file_order() -> None:
    # merged GT, both starting at 0: file order -> a (file 1), b (file 2). Predictions starting at 0 keep
    # their submission order (stable sort): b, a -> the two diagonal pairs cross, only one aligns:
    # total = T -> P = T / 2, R = T / 2, F = T / 2 -> 49.99999995 -> 50.0
    refs = [{"v": [((0, 10), "a")]}, {"v": [((0, 10), "b")]}]
    out = soda_c({"v": [((0, 10), "b"), ((0, 10), "a")]}, refs, similarity=same_sentence)
    assert (out["precision"], out["recall"], out["f1"]) == (50.0, 50.0, 50.0)
    # submitted a, b instead: both align -> total 2T -> P = R = F = T -> 100.0
    out = soda_c({"v": [((0, 10), "a"), ((0, 10), "b")]}, refs, similarity=same_sentence)
    assert (out["precision"], out["recall"], out["f1"]) == (100.0, 100.0, 100.0)


def test_soda_c_duplicated_zero_length_and_reversed_predictions_count_in_precision() -> None:
    # GT a [0, 10]. Predictions (sorted by start): a [0, 10], its duplicate, a [5, 5] (zero length: inter
    # max(0, min(5, 10) - max(5, 0)) = 0), a [8, 2] (reversed: inter max(0, 2 - 8) = 0).
    # S row = [T, T, 0, 0]; one GT event aligns once: total = T. P = T / 4, R = T,
    # F = 2 (T/4) T / (T/4 + T) = 2T/5 -> x100: 25.0, 100.0, 40.0 (4 decimals)
    preds = {"v": [((8, 2), "a"), ((0, 10), "a"), ((5, 5), "a"), ((0, 10), "a")]}
    out = soda_c(preds, [{"v": [((0, 10), "a")]}], similarity=same_sentence)
    assert (out["precision"], out["recall"], out["f1"]) == (25.0, 100.0, 40.0)


def test_soda_c_video_sets_and_empty_prediction_list() -> None:
    # "v": perfect -> P = R = F = T. "e": in GT and predicted with an empty list: the script crashes;
    # documented 0, counted. "only_gt" (no prediction) and "only_pred" (no GT) are left out of the mean.
    # mean over {v, e}: T / 2 -> 50.0
    refs = [{"v": [((0, 10), "a")], "e": [((0, 10), "a")], "only_gt": [((0, 10), "a")]}]
    preds = {"v": [((0, 10), "a")], "e": [], "only_pred": [((0, 10), "a")]}
    out = soda_c(preds, refs, similarity=same_sentence)
    assert (out["precision"], out["recall"], out["f1"]) == (50.0, 50.0, 50.0)
    assert out["num_videos"] == 2 and out["missing"] == 1 and out["multi_reference"] is False


def test_soda_c_multi_reference_keeps_p_and_r_of_the_best_f_file() -> None:
    # predictions a [0, 10], b [10, 20]; file 1: a; file 2: a, b, c [20, 30]
    # multi_reference: file 1 total T: P = T/2, R = T, F = 2T/3; file 2 total 2T: P = T, R = 2T/3,
    #   F = 2 T (2T/3) / (5T/3) = 4T/5 -> file 2 wins -> (100.0, 66.6667, 80.0); P and R come from file 2
    #   (the best recall alone would be file 1's 100)
    # merged (default): GT a, a (file order), b, c; total 2T: P = T, R = 2T/4, F = 2T/3
    #   -> (100.0, 50.0, 66.6667)
    preds = {"v": [((0, 10), "a"), ((10, 20), "b")]}
    refs = [{"v": [((0, 10), "a")]}, {"v": [((0, 10), "a"), ((10, 20), "b"), ((20, 30), "c")]}]
    out = soda_c(preds, refs, similarity=same_sentence, multi_reference=True)
    assert (out["precision"], out["recall"], out["f1"]) == (100.0, 66.6667, 80.0)
    out = soda_c(preds, refs, similarity=same_sentence)
    assert (out["precision"], out["recall"], out["f1"]) == (100.0, 50.0, 66.6667)


def test_soda_tokenize_non_ascii_and_line_breaks() -> None:
    # non-ASCII -> space ("Café" -> "Caf ", "naïve" -> "na ve"); "\r" -> space (the Java tokenizer would
    # break the line there); lower-cased, "don't" -> "do n't", punctuation tokens dropped
    assert soda_tokenize(["Café\rnaïve, don't!"], use_java=False) == ["caf na ve do n't"]


def test_soda_c_with_real_meteor_gt_is_the_hypothesis() -> None:
    from tempoforge.eval.metrics.captions import java_available

    if not java_available():
        pytest.skip("needs java for METEOR")
    from pycocoevalcap.meteor.meteor import Meteor

    meteor = Meteor()
    try:
        gt, pred = "a man is playing the guitar on a stage", "a man plays guitar"  # PTB tokens
        # pycocoevalcap's own METEOR, hypothesis = GT sentence (res), reference = prediction (gts)
        _, (gt_as_hyp,) = meteor.compute_score({0: [pred]}, {0: [gt]})
        _, (pred_as_hyp,) = meteor.compute_score({0: [gt]}, {0: [pred]})
        assert abs(gt_as_hyp - pred_as_hyp) > 0.05  # METEOR is asymmetric: the orientation matters
        # one GT and one prediction, both [0, 10]: P = R = F = T * METEOR(hyp=GT, ref=pred)
        out = soda_c(
            {"v": [((0, 10), "A man plays guitar.")]},
            [{"v": [((0, 10), "A man is playing the guitar on a stage.")]}],
            meteor=meteor,
        )
        expected = round(T * gt_as_hyp * 100, 4)
        assert (out["precision"], out["recall"], out["f1"]) == (expected, expected, expected)
    finally:
        meteor.meteor_p.kill()
        meteor.meteor_p.wait()


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


def test_soda_c_on_the_real_activitynet_reference_files(datasets_dir: Path) -> None:
    from tempoforge.eval.loaders import load_densevid_refs

    root = datasets_dir / "annotations" / "activitynet_captions"
    val1, val2 = load_densevid_refs(root / "val_1.json"), load_densevid_refs(root / "val_2.json")
    # 20 videos of both files whose events have positive length and whose val_1 / val_2 sentences differ,
    # so with an exact-sentence similarity only a prediction's own event can score
    vids = [
        v
        for v in sorted(set(val1) & set(val2))
        if all(e > s for s, e in val1[v].timestamps + val2[v].timestamps)
        and not set(val1[v].sentences) & set(val2[v].sentences)
    ][:20]
    refs = [{v: list(zip(r.timestamps, r.sentences)) for v, r in ref.items()} for ref in (val1, val2)]
    preds = {v: refs[1][v] for v in vids}  # val_2's own events as the predictions
    # each prediction aligns with its own val_2 event: S = len / (len + 1e-8); total_v = sum over them
    total = {v: sum((e - s) / ((e - s) + 1e-8) for s, e in val2[v].timestamps) for v in vids}
    g1, g2 = {v: len(val1[v].timestamps) for v in vids}, {v: len(val2[v].timestamps) for v in vids}
    # merged references (the default): P = total / G2, R = total / (G1 + G2); only the 20 predicted videos
    # of the 4,9xx GT videos are evaluated, the rest are "missing"
    out = soda_c(preds, refs, similarity=same_sentence)
    p = [total[v] / g2[v] for v in vids]
    r = [total[v] / (g1[v] + g2[v]) for v in vids]
    f = [2 * a * b / (a + b) for a, b in zip(p, r)]
    assert out["precision"] == pytest.approx(100 * np.mean(p), abs=1e-4)
    assert out["recall"] == pytest.approx(100 * np.mean(r), abs=1e-4)
    assert out["f1"] == pytest.approx(100 * np.mean(f), abs=1e-4)
    assert out["num_videos"] == 20 and out["missing"] == len(set(val1) | set(val2)) - 20
    # multi-reference: val_2 scores P = R = F = total / G2 and beats val_1 (total 0) on every video
    out = soda_c(preds, refs, similarity=same_sentence, multi_reference=True)
    assert out["precision"] == out["recall"] == out["f1"] == pytest.approx(100 * np.mean(p), abs=1e-4)

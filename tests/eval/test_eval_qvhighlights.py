"""QVHighlights (moment_detr standalone_eval) — METRICS.md section 1, every quirk with a hand-made case."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve

from tempoforge.errors import UserError
from tempoforge.eval.loaders import load_qvhighlights_rows, load_qvhighlights_submission
from tempoforge.eval.metrics.qvhighlights import (
    MR_THRESHOLDS,
    compute_hl,
    compute_mr_ap,
    compute_mr_r1,
    eval_qvhighlights,
    hl_average_precision,
    select_length_range,
)

THR_KEYS = ["0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95"]


def gt_row(qid: int, windows: list[list[float]], duration: float = 150) -> dict[str, Any]:
    return {
        "qid": qid,
        "duration": duration,
        "relevant_windows": windows,
        "relevant_clip_ids": [],
        "saliency_scores": [],
    }


def sub_row(qid: int, windows: list[list[float]]) -> dict[str, Any]:
    return {"qid": qid, "pred_relevant_windows": windows}


def all_thr(ap: dict[str, Any], value: float) -> None:
    for k in THR_KEYS:
        assert ap[k] == value, (k, ap[k], value)


# ------------------------------------------------------------------------------------ the real fixture
@pytest.fixture(scope="module")
def qv_dir(datasets_dir: Path) -> Path:
    return datasets_dir / "annotations" / "qvhighlights"


@pytest.fixture(scope="module")
def val_gt(qv_dir: Path) -> list[dict[str, Any]]:
    return load_qvhighlights_rows(qv_dir / "highlight_val_release.jsonl")


def test_sample_val_preds_match_official_metrics_exactly(qv_dir: Path, val_gt: list[dict[str, Any]]) -> None:
    sub = load_qvhighlights_submission(qv_dir / "sample_val_preds.jsonl")
    t0 = time.process_time()  # CPU time: wall time on the shared 2-core test machine includes others' load
    out = eval_qvhighlights(sub, val_gt)
    elapsed = time.process_time() - t0
    official = json.loads((qv_dir / "sample_val_preds_metrics_raw.json").read_text())
    # same keys, same nesting, same order, same numbers
    assert json.dumps(out) == json.dumps(official)
    assert len(sub) == 1550
    assert elapsed < 2.0, f"scoring 1550 queries took {elapsed:.2f} s"


def test_ground_truth_as_predictions_scores_100(val_gt: list[dict[str, Any]]) -> None:
    sub = [sub_row(g["qid"], [[*w, 1.0] for w in g["relevant_windows"]]) for g in val_gt]
    r1 = compute_mr_r1(sub, val_gt)
    assert all(v == 100.0 for v in r1.values())
    # without the 10-window cap every query is perfect
    assert compute_mr_ap(sub, val_gt, max_pred_windows=None) == {
        **dict.fromkeys(THR_KEYS, 100.0),
        "average": 100.0,
    }
    # with the official cap, the 13 queries with G > 10 GT windows have 10 TPs at precision 1: AP = 10 / G
    big = [len(g["relevant_windows"]) for g in val_gt if len(g["relevant_windows"]) > 10]
    assert sorted(big) == [11, 11, 11, 12, 12, 13, 13, 14, 16, 17, 18, 21, 25]
    expected = round(100 * (1537 + sum(10 / g for g in big)) / 1550, 2)  # = 99.76
    assert expected == 99.76
    assert compute_mr_ap(sub, val_gt)["average"] == expected


# ------------------------------------------------------------------------------------------- MR-mAP
def test_voc_interpolated_ap_hand_case() -> None:
    # GT g0=[0,10], g1=[20,30]; preds by score: [0,10] TP, [50,60] FP, [20,30] TP (IoU 1 or 0 at every t)
    # precision 1, 1/2, 2/3; recall 1/2, 1/2, 1 -> VOC: 0.5*1 + 0.5*(2/3) = 0.8333
    gt = [gt_row(1, [[0, 10], [20, 30]])]
    sub = [sub_row(1, [[0, 10, 0.9], [50, 60, 0.8], [20, 30, 0.7]])]
    ap = compute_mr_ap(sub, gt)
    all_thr(ap, 83.33)
    assert ap["average"] == 83.33


def test_only_first_10_windows_in_submission_order_are_kept() -> None:
    # 10 FPs first, then the perfect window with the top score at position 11: discarded -> AP 0
    gt = [gt_row(1, [[0, 10]])]
    wins = [[100 + i, 101 + i, 0.5] for i in range(10)] + [[0, 10, 0.99]]
    assert compute_mr_ap([sub_row(1, wins)], gt)["average"] == 0.0
    # without the cap it is ranked first: precision 1 at recall 1 -> AP 1
    assert compute_mr_ap([sub_row(1, wins)], gt, max_pred_windows=None)["average"] == 100.0


def test_score_sort_is_stable_for_ties() -> None:
    # tie at 0.5: the FP listed first stays first -> precision 0 then 1/2 at recall 1 -> AP 0.5 (not 1)
    gt = [gt_row(1, [[0, 10]])]
    assert compute_mr_ap([sub_row(1, [[50, 60, 0.5], [0, 10, 0.5]])], gt)["average"] == 50.0
    assert compute_mr_ap([sub_row(1, [[0, 10, 0.5], [50, 60, 0.5]])], gt)["average"] == 100.0


def test_nan_iou_counts_as_match_and_reversed_prediction_is_zero() -> None:
    # zero-length pred on zero-length GT: 0/0 = NaN, never "< t" -> TP at every threshold
    gt = [gt_row(1, [[5, 5]])]
    all_thr(compute_mr_ap([sub_row(1, [[5, 5, 1.0]])], gt), 100.0)
    # reversed [8, 2] vs [0, 10]: inter 0, union -6 + 10 = 4 -> IoU 0 -> FP
    all_thr(compute_mr_ap([sub_row(1, [[8, 2, 1.0]])], [gt_row(1, [[0, 10]])]), 0.0)
    # reversed [3, 1] (len -2) vs [5, 7] (len 2): union 0 -> NaN -> a "match"
    all_thr(compute_mr_ap([sub_row(1, [[3, 1, 1.0]])], [gt_row(1, [[5, 7]])]), 100.0)


def test_duplicate_of_matched_window_is_false_positive() -> None:
    # dup of g0 takes rank 2: TP, FP, TP -> same as the VOC hand case: 0.8333
    gt = [gt_row(1, [[0, 10], [20, 30]])]
    all_thr(compute_mr_ap([sub_row(1, [[0, 10, 0.9], [0, 10, 0.8], [20, 30, 0.7]])], gt), 83.33)


def test_greedy_matching_is_separate_per_threshold() -> None:
    # g0=[0,10], g1=[4,14]; p1=[1,11] (IoU 9/11=.818 with g0, 7/13=.538 with g1), p2=[0,10] (1.0 g0, 6/14 g1)
    # t<=0.8: p1->g0 TP, p2: g0 taken, g1 .4286 < t -> FP; P=[1,.5], R=[.5,.5] -> AP .5
    # t>=0.85: p1 FP (.818 < t), p2->g0 TP; P=[0,.5], R=[0,.5] -> AP .5*.5 = .25
    gt = [gt_row(1, [[0, 10], [4, 14]])]
    ap = compute_mr_ap([sub_row(1, [[1, 11, 0.9], [0, 10, 0.8]])], gt)
    for k in THR_KEYS[:7]:
        assert ap[k] == 50.0
    for k in THR_KEYS[7:]:
        assert ap[k] == 25.0
    assert ap["average"] == 42.5  # (7 * .5 + 3 * .25) / 10


def test_queries_without_predictions_leave_the_map_mean_but_miss_in_r1() -> None:
    gt = [gt_row(1, [[0, 10]]), gt_row(2, [[0, 10]])]
    sub = [sub_row(1, [[0, 10, 1.0]]), sub_row(2, [])]
    assert compute_mr_ap(sub, gt)["average"] == 100.0  # mean over query 1 only, not 50
    assert compute_mr_r1(sub, gt)["0.5"] == 50.0  # documented value: an empty list is a miss


def test_length_buckets_filter_gt_windows_not_predictions() -> None:
    # GT lengths 8 (short) and 30 (middle: 10 < 30 <= 30); prediction [0, 8]
    gt = [gt_row(1, [[0, 8], [20, 50]])]
    sub = [sub_row(1, [[0, 8, 0.9]])]
    s_sub, s_gt = select_length_range(sub, gt, (0, 10))
    assert s_gt[0]["relevant_windows"] == [[0, 8]] and s_sub == sub
    out = eval_qvhighlights(sub, gt)
    assert out["short"]["MR-mAP"]["average"] == 100.0  # pred matches the only short GT
    assert out["middle"]["MR-mAP"]["average"] == 0.0  # [20, 50] only: the prediction is a FP
    assert out["long"]["MR-mAP"]["average"] is None  # no query: documented value (official crashes)
    # full: 2 GT windows, one TP at rank 1: P=1, R=.5 -> AP .5
    assert out["full"]["MR-mAP"]["average"] == 50.0
    assert out["brief"]["MR-short-mAP"] == 100.0 and out["brief"]["MR-middle-mAP"] == 0.0


# --------------------------------------------------------------------------------------------- MR-R1
def test_r1_uses_first_listed_window_not_top_scored() -> None:
    gt = [gt_row(1, [[0, 10]])]
    # the top-scored window is perfect, but the first listed one misses
    assert compute_mr_r1([sub_row(1, [[20, 30, 0.1], [0, 10, 0.9]])], gt)["0.5"] == 0.0
    assert compute_mr_r1([sub_row(1, [[0, 10, 0.1], [20, 30, 0.9]])], gt)["0.5"] == 100.0


def test_r1_best_gt_window_and_inclusive_float64_threshold() -> None:
    # [0, 7] vs GT {[50, 60], [0, 10]}: best GT is [0, 10] (IoU .7); hull IoU 7/10 = 0.7 exactly -> hit at .7
    gt = [gt_row(1, [[50, 60], [0, 10]])]
    r1 = compute_mr_r1([sub_row(1, [[0, 7, 1.0]])], gt)
    assert r1["0.7"] == 100.0 and r1["0.75"] == 0.0
    # [0, 5] vs [0, 10]: 0.5 exactly -> hit at 0.5 only
    r1 = compute_mr_r1([sub_row(1, [[0, 5, 1.0]])], [gt_row(1, [[0, 10]])])
    assert r1["0.5"] == 100.0 and r1["0.55"] == 0.0
    # zero hull (both [5, 5]) -> IoU 0, not NaN/crash
    assert compute_mr_r1([sub_row(1, [[5, 5, 1.0]])], [gt_row(1, [[5, 5]])])["0.5"] == 0.0


# ----------------------------------------------------------------------------------------------- HL
def hl_gt(qid: int, duration: float, ids: list[int], scores: list[list[int]]) -> dict[str, Any]:
    return {
        "qid": qid,
        "duration": duration,
        "relevant_windows": [[0, 2]],
        "relevant_clip_ids": ids,
        "saliency_scores": scores,
    }


def test_highlight_metrics_hand_case() -> None:
    # q1: duration 9 -> n = 4 clips; rows: 0 [0,0,0], 1 [4,1,0], 2 [0,0,0], 3 [2,3,4]
    #   pred (6 values, truncated to 4): [.1, .9, .9, .3 | 5, 5] -> argmax 4 >= n -> hit 0
    #   sorted groups: {1,2} (tie), {3}, {0}
    #   Fair a0 [0,1,0,1]: prec .5, 2/3, .5; groups with a positive: 1st, 2nd -> interp 2/3, 2/3 -> AP 2/3
    #   Fair a1 = a2 = [0,0,0,1]: only group 2 (prec 1/3, later 1/4) -> AP 1/3
    #   Good a0 [0,1,0,0] -> .5; a1, a2 [0,0,0,1] -> 1/3 ; VeryGood a0 .5, a1 all-zero -> 0, a2 1/3
    # q2: duration 4 -> n = 2, all scores 4 -> every label 1 -> AP 1; pred [.2] padded to [.2, 0],
    #   argmax 0 -> hit 1
    # q3: duration 5 -> n = int(2.5) = 2; rows [1,1,1], [4,4,4]; pred [.5, .5] tie -> argmax 0 -> hit 0;
    #   one tie group holding the positive: precision 1/2 -> AP .5 for all 9 (level, annotator)
    gt = [
        hl_gt(1, 9, [1, 3], [[4, 1, 0], [2, 3, 4]]),
        hl_gt(2, 4, [0, 1], [[4, 4, 4], [4, 4, 4]]),
        hl_gt(3, 5, [0, 1], [[1, 1, 1], [4, 4, 4]]),
    ]
    sub = [
        {"qid": 1, "pred_saliency_scores": [0.1, 0.9, 0.9, 0.3, 5.0, 5.0]},
        {"qid": 2, "pred_saliency_scores": [0.2]},
        {"qid": 3, "pred_saliency_scores": [0.5, 0.5]},
    ]
    out = compute_hl(sub, gt)
    # Fair: (2/3 + 1/3 + 1/3 + 3 + 1.5) / 9 = .648148 ; Good: (.5 + 2/3 + 3 + 1.5) / 9 = .629630
    # VeryGood: (.5 + 0 + 1/3 + 3 + 1.5) / 9 = .592593 ; Hit1: (0 + 1 + 0) / 3
    assert out == {
        "HL-min-Fair": {"HL-mAP": 64.81, "HL-Hit1": 33.33},
        "HL-min-Good": {"HL-mAP": 62.96, "HL-Hit1": 33.33},
        "HL-min-VeryGood": {"HL-mAP": 59.26, "HL-Hit1": 33.33},
    }
    full = eval_qvhighlights(sub, gt)
    assert list(full["brief"]) == [
        "HL-min-Fair-mAP",
        "HL-min-Fair-Hit1",
        "HL-min-Good-mAP",
        "HL-min-Good-Hit1",
        "HL-min-VeryGood-mAP",
        "HL-min-VeryGood-Hit1",
    ]


def _get_ap_with_sklearn(y: np.ndarray, s: np.ndarray) -> float:
    """moment_detr get_ap, written from its description, on top of the real sklearn curve."""
    if len(set(y.tolist())) == 1:
        return 0.0 if y[0] == 0 else 1.0
    precision, recall, _ = precision_recall_curve(y, s)
    recall = recall.astype(np.float32)
    for i in range(1, len(precision)):
        precision[i] = max(precision[i - 1], precision[i])
    return float(np.mean(precision[np.where(np.diff(recall))]))


def test_hl_average_precision_matches_sklearn_curve_semantics() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        y = (rng.random((3, n)) < rng.random()).astype(float)
        s = rng.integers(0, 5, n).astype(float)  # many ties
        if rng.random() < 0.5:
            s = s + rng.random(n)
        ours = hl_average_precision(y, s)
        for k in range(3):
            assert ours[k] == pytest.approx(_get_ap_with_sklearn(y[k], s), abs=1e-12)


# ------------------------------------------------------------------------------------------ bad input
def test_qid_mismatch_names_missing_and_extra() -> None:
    gt = [gt_row(1, [[0, 10]]), gt_row(2, [[0, 10]])]
    with pytest.raises(
        UserError,
        match=r"1 ground-truth qids have no prediction \(e\.g\. \[2\]\).*1 predicted qids are not in the ground truth \(e\.g\. \[3\]\)",
    ):
        eval_qvhighlights([sub_row(1, [[0, 10, 1]]), sub_row(3, [[0, 10, 1]])], gt)


def test_bad_saliency_input_is_a_user_error() -> None:
    with pytest.raises(UserError, match="clip id 10 out of range for 4 clips"):
        compute_hl([{"qid": 1, "pred_saliency_scores": [1.0]}], [hl_gt(1, 8, [10], [[1, 1, 1]])])
    with pytest.raises(UserError, match="non-finite"):
        compute_hl([{"qid": 1, "pred_saliency_scores": [float("nan")]}], [hl_gt(1, 8, [1], [[1, 1, 1]])])
    with pytest.raises(UserError, match="duplicate qid 1"):
        eval_qvhighlights([sub_row(1, [[0, 1, 1]]), sub_row(1, [[0, 1, 1]])], [gt_row(1, [[0, 1]])])


def test_thresholds_are_the_official_decimals() -> None:
    assert [str(t) for t in MR_THRESHOLDS] == THR_KEYS

"""Single-moment grounding conventions, hand-computed; the TimeChat fixture; speed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.eval.metrics.grounding import CONVENTIONS, grounding_details, score_grounding
from tempoforge.records import Prediction


def P(i: str, gt: object, answer: str = "", pred: list[float] | None = None) -> Prediction:
    return Prediction(id=i, gt=gt, answer=answer, pred=pred)  # type: ignore[arg-type]


def test_registry_lists_all_conventions() -> None:
    assert set(CONVENTIONS) == {"etchat", "lmms-eval-tvg", "lmms-eval", "strict"}


def test_etchat_float32_miss_at_0_7_and_rounding() -> None:
    # IoUs: [0,7] vs [0,10] -> float32 0.69999999 (misses 0.7); [0,10] vs [0,10] -> 1; third failed -> 0
    preds = [P("a", [0, 10], "0 - 7"), P("b", [0, 10], "0 - 10"), P("c", [0, 10], "I don't know")]
    out = score_grounding(preds, "etchat")
    # R@0.3 = R@0.5 = 2/3 -> 0.667; R@0.7 = 1/3 -> 0.333; mIoU = (0.69999999 + 1) / 3 = 0.5666... -> 0.567
    assert out == {
        "convention": "etchat",
        "Total": 3,
        "Failed": 1,
        "R@0.3": 0.667,
        "R@0.5": 0.667,
        "R@0.7": 0.333,
        "mIoU": 0.567,
    }


def test_etchat_reversed_pred_not_swapped_and_pred_field() -> None:
    # pred given as [7, 0] (reversed): not swapped -> inter 0 -> IoU 0 (not failed: 2 numbers)
    # a pred with 3 numbers is failed
    preds = [P("a", [0, 10], pred=[7, 0]), P("b", [0, 10], pred=[0, 5, 1]), P("c", [0, 10], pred=[0, 5])]
    out = score_grounding(preds, "etchat")
    assert out["Failed"] == 1
    # only c hits: IoU 5/10 = 0.5 -> R@0.3 = R@0.5 = 1/3; mIoU = 0.5 / 3 = 0.1667 -> 0.167
    assert (out["R@0.3"], out["R@0.5"], out["R@0.7"], out["mIoU"]) == (0.333, 0.333, 0.0, 0.167)


def test_etchat_nonfinite_iou_is_zero() -> None:
    # zero-length GT and pred at the same point: 0/0 -> NaN -> 0, not failed
    out = score_grounding([P("a", [3, 3], pred=[3, 3])], "etchat")
    assert out["Failed"] == 0 and out["mIoU"] == 0.0 and out["R@0.3"] == 0.0


def test_lmms_tvg_fallback_window_and_hull_iou() -> None:
    # a: "0 to 7" has no keyword sentence -> invalid -> [gt_end + 10, gt_end + 20] = [20, 30] -> IoU 0
    # b: single sentence "starts at 1 and ends at 5" -> one number -> invalid -> 0
    # c: "happens in 12 - 14, also 30 - 40": first pair [12, 14] vs [10, 20] -> 2 / 10 = 0.2
    # d: "happens 0 to 7" -> "0 - 7": hull IoU 7 / 10 = 0.7 in float64 -> hits 0.7
    preds = [
        P("a", [0, 10], "0 to 7"),
        P("b", [0, 10], "It starts at 1 and ends at 5."),
        P("c", [10, 20], "It happens in 12 - 14, also 30 - 40"),
        P("d", [0, 10], "It happens 0 to 7"),
    ]
    out = score_grounding(preds, "lmms-eval-tvg")
    assert out["Failed"] == 2
    assert out["IOU 0.3"] == 25.0 and out["IOU 0.7"] == 25.0  # only d: 1 * 100 / 4
    assert out["mIOU"] == pytest.approx((0 + 0 + 0.2 + 0.7) * 100 / 4)
    d = grounding_details(preds, "lmms-eval-tvg")
    np.testing.assert_allclose(d.pred[0], [20, 30])  # gt_end + 10, gt_end + 20
    np.testing.assert_allclose(d.pred[1], [20, 30])
    assert d.status == ["failed", "failed", "ok", "ok"]


def test_lmms_tvg_reproduces_the_script_on_answers_without_its_form() -> None:
    # GT [0, 10] for all; eval_tvg.py extract_time, then hull IoU max(min e - max s, 0) / (max e - min s)
    # a "The event happens from 2 to 8 seconds." -> "2 - 8" in a keyword sentence -> [2, 8]: 6 / 10 = 0.6
    # b "From 2.0 to 8.0 seconds."  -> no keyword sentence -> [20, 30] -> 0
    # c "2 - 8"                     -> no keyword sentence -> 0
    # d "It starts at 2 and ends at 8." -> one sentence, one first number -> 0
    # e "The event happens at 4 seconds." -> a single number -> 0
    # f "Sorry, I cannot tell when it happens." -> keyword, no number -> 0
    # g "The event happens in 0–7 s." -> en dash range [0, 7]: 7 / 10 = 0.7 (float64: hits 0.7)
    # h "It starts at 2.5s\nIt ends at 9.5 s" -> first numbers 2 ("2.5s" reads 2) and 9.5: 7.5 / 10 = 0.75
    answers = [
        "The event happens from 2 to 8 seconds.",
        "From 2.0 to 8.0 seconds.",
        "2 - 8",
        "It starts at 2 and ends at 8.",
        "The event happens at 4 seconds.",
        "Sorry, I cannot tell when it happens.",
        "The event happens in 0–7 s.",
        "It starts at 2.5s\nIt ends at 9.5 s",
    ]
    preds = [P(str(i), [0, 10], a) for i, a in enumerate(answers)]
    out = score_grounding(preds, "lmms-eval-tvg")
    # hits: >= 0.3 and >= 0.5: a, g, h -> 3 * 100 / 8 = 37.5; >= 0.7: g, h -> 25.0
    # mIOU = (0.6 + 0.7 + 0.75) * 100 / 8 = 25.625; Failed = b, c, d, e, f
    assert out["convention"] == "lmms-eval-tvg" and out["Total"] == 8 and out["Failed"] == 5
    assert (out["IOU 0.3"], out["IOU 0.5"], out["IOU 0.7"]) == (37.5, 37.5, 25.0)
    assert out["mIOU"] == pytest.approx(25.625, abs=1e-12)
    # our own lenient parser (strict) reads b, c and d as [2, 8]; the script does not
    strict = grounding_details(preds, "strict")
    assert [strict.status[i] for i in (1, 2, 3)] == ["ok", "ok", "ok"]
    np.testing.assert_allclose(strict.pred[1:4], [[2, 8]] * 3)


def test_lmms_harness_bad_pred_and_percentages() -> None:
    # a: clock range -> [12, 20] vs [10, 20] -> 8/10 = 0.8; b: no number -> bad_pred, IoU 0
    # c: disjoint [30, 40] vs [0, 10] -> inter 0 -> 0 (hull 40)
    preds = [P("a", [10, 20], "0:12 - 0:20"), P("b", [0, 10], "no idea"), P("c", [0, 10], "30 - 40")]
    out = score_grounding(preds, "lmms-eval")
    assert out["bad_pred"] == 1
    assert out["IOU@3"] == pytest.approx(100 / 3) and out["IOU@7"] == pytest.approx(100 / 3)
    assert out["mIOU"] == pytest.approx(80 / 3)  # 0.8 * 100 / 3, unrounded


def test_hull_and_union_differ_for_reversed_prediction() -> None:
    # pred [7, 0] given directly: etchat (union, not swapped) -> 0; lmms hull: max(min(0,10)-max(7,0),0)=0 -> 0
    # pred [2, 8] vs [0, 10]: union 6/10 = 0.6, hull 6/10 = 0.6 (overlap: hull == union)
    preds = [P("a", [0, 10], pred=[2, 8])]
    assert score_grounding(preds, "etchat")["mIoU"] == 0.6
    assert score_grounding(preds, "lmms-eval")["mIOU"] == pytest.approx(60.0)


def test_strict_all_gt_spans_refusals_failures_and_refusal_accuracy() -> None:
    preds = [
        P("a", [[0, 10], [20, 30]], "from 20 to 30"),  # max over GTs: 1.0
        P("b", [[0, 10]], "The event does not appear."),  # refusal on a relevant query: miss
        P("c", [[0, 10]], "blah"),  # parse failure: miss
        P("d", [[0, 10]], "0 - 7"),  # 0.7 in float64: hit at 0.7
        P("e", None, "There is no such event in the video."),  # irrelevant, refused: correct
        P("f", None, "It happens at 3 - 4 s."),  # irrelevant, answered: wrong
    ]
    out = score_grounding(preds, "strict")
    assert out["relevant"] == 4 and out["irrelevant"] == 2
    assert out["refusals"] == 1 and out["parse_failures"] == 1
    assert out["R1@0.3"] == 0.5 and out["R1@0.7"] == 0.5  # a and d out of 4
    assert out["mIoU"] == pytest.approx((1.0 + 0.7) / 4)
    assert out["refusal_accuracy"] == 0.5


def test_official_conventions_reject_missing_gt_and_unknown_name() -> None:
    with pytest.raises(UserError, match="'x'"):
        score_grounding([P("x", None, "1 - 2")], "etchat")
    with pytest.raises(UserError, match="unknown grounding convention"):
        score_grounding([P("x", [0, 1], "1 - 2")], "nope")
    with pytest.raises(UserError, match="no predictions"):
        score_grounding([], "strict")


def _timechat(datasets_dir: Path) -> tuple[list[Prediction], int]:
    root = datasets_dir / "annotations" / "timechat"
    gt = {str(a["id"]): a for a in json.loads((root / "tvg_example_gt_file.json").read_text())["annotations"]}
    pred = json.loads((root / "tvg_example_pred_file.json").read_text())
    preds, empty = [], 0
    for key, p in pred.items():
        ts = p["timestamp"]
        empty += not ts
        # a failed parse upstream is an empty timestamp list: no window, no text to re-parse
        preds.append(Prediction(id=key, gt=gt[key]["timestamp"], answer="", pred=ts[0] if ts else None))
    return preds, empty


def test_timechat_fixture_structural_properties(datasets_dir: Path) -> None:
    preds, empty = _timechat(datasets_dir)
    assert len(preds) == 500 and empty == 280  # documented in the datasets README
    et = score_grounding(preds, "etchat")
    tvg = score_grounding(preds, "lmms-eval-tvg")
    hv = score_grounding(preds, "lmms-eval")
    assert et["Failed"] == empty and tvg["Failed"] == empty and hv["bad_pred"] == empty
    # recall is monotone in the threshold, and at most the parsed fraction (220 / 500)
    for out, keys in ((et, ["R@0.3", "R@0.5", "R@0.7"]), (hv, ["IOU@3", "IOU@5", "IOU@7"])):
        vals = [out[k] for k in keys]
        assert vals == sorted(vals, reverse=True)
        assert vals[0] <= (220 / 500) * (100 if out is hv else 1)
    # the hull equals the union on overlapping windows, so mIoU agrees up to float32 error
    assert hv["mIOU"] == pytest.approx(tvg["mIOU"])
    assert et["mIoU"] == pytest.approx(hv["mIOU"] / 100, abs=1e-3)
    d = grounding_details(preds, "etchat")
    failed = np.array([s == "failed" for s in d.status])
    assert np.all(d.ious[failed] == 0) and np.all(np.isnan(d.pred[failed]))


def test_scoring_10k_predictions_is_fast() -> None:
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 20, 10_000)
    preds = [
        P(str(i), [0, 10], f"The event happens from {x:.1f} to {x + 5:.1f} seconds.") for i, x in enumerate(s)
    ]
    for conv in CONVENTIONS:
        t0 = time.process_time()  # CPU time: robust to other jobs sharing the machine
        out = score_grounding(preds, conv)
        elapsed = time.process_time() - t0
        assert out["Total"] == 10_000
        assert elapsed < 1.0, (conv, elapsed)


def test_nan_prediction_is_a_counted_failure_not_a_nan_metric() -> None:
    preds = [P("a", [0, 10], pred=[float("nan"), 5.0]), P("b", [0, 10], pred=[0, 10])]
    assert score_grounding(preds, "etchat")["Failed"] == 1
    assert score_grounding(preds, "lmms-eval")["bad_pred"] == 1
    assert score_grounding(preds, "lmms-eval")["mIOU"] == pytest.approx(50.0)  # (0 + 1) * 100 / 2
    assert score_grounding(preds, "lmms-eval-tvg")["mIOU"] == pytest.approx(50.0)
    assert score_grounding(preds, "strict")["parse_failures"] == 1

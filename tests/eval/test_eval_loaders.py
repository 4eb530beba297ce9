"""Loaders on the real annotation files in ../shared/datasets/annotations, and their error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempoforge.errors import UserError
from tempoforge.eval import loaders as L


@pytest.fixture(scope="module")
def ann(datasets_dir: Path) -> Path:
    return datasets_dir / "annotations"


def test_qvhighlights_val(ann: Path) -> None:
    samples = L.load_qvhighlights(ann / "qvhighlights" / "highlight_val_release.jsonl")
    assert len(samples) == 1550
    first = samples[0]  # qid 2579, the first line of the file
    assert first.id == "2579" and first.duration == 150.0 and first.source == "qvhighlights"
    assert [s.as_pair() for s in first.spans] == [(82.0, 150.0)]
    assert first.meta["relevant_clip_ids"][0] == 41 and len(first.meta["saliency_scores"][0]) == 3
    with pytest.raises(
        UserError, match=r"highlight_test_release.jsonl:1: missing field\(s\) \['relevant_windows'\]"
    ):
        L.load_qvhighlights(ann / "qvhighlights" / "highlight_test_release.jsonl")


def test_charades_sta_overflow_policies(ann: Path) -> None:
    d = ann / "charades_sta"
    kept = L.load_charades_sta(d / "charades_sta_test.txt", d / "Charades_v1_test.csv")
    assert len(kept) == 3720
    assert kept[0].video == "3MSZA" and kept[0].spans[0].as_pair() == (24.3, 30.4)
    assert kept[0].query == "person turn a light on."
    over = [s for s in kept if "csv_duration" in s.meta]
    assert len(over) == 562  # test queries ending after the CSV length (README / known quirk)
    s = over[0]
    assert s.duration == s.spans[0].end > s.meta["csv_duration"]  # span kept raw, duration raised
    clipped = L.load_charades_sta(d / "charades_sta_test.txt", d / "Charades_v1_test.csv", overflow="clip")
    c = next(x for x in clipped if x.id == s.id)
    assert c.spans[0].end == c.duration == s.meta["csv_duration"] and c.meta["raw_spans"] == [
        [s.spans[0].start, s.spans[0].end]
    ]
    with pytest.raises(UserError, match=r"charades_sta_test.txt:\d+: span .* ends after the video duration"):
        L.load_charades_sta(d / "charades_sta_test.txt", d / "Charades_v1_test.csv", overflow="error")


def test_charades_sta_reversed_train_spans_are_swapped(ann: Path) -> None:
    d = ann / "charades_sta"
    train = L.load_charades_sta(d / "charades_sta_train.txt", d / "Charades_v1_train.csv")
    assert len(train) == 12408
    assert sum("reversed_in_source" in s.meta for s in train) == 4


def test_activitynet_and_youcook2(ann: Path) -> None:
    val1 = L.load_activitynet_captions(ann / "activitynet_captions" / "val_1.json")
    assert len(val1) == 4917 and sum(len(v.events) for v in val1) == 17505
    v = next(x for x in val1 if x.id == "v_uqiMw7tQ1Cc")
    # the raw sentence starts with two spaces; records carry the stripped caption
    assert (
        v.events[1].caption
        == "The coach helps the guy in red with the proper body placement and lifting technique."
    )
    assert sum("source_duration" in x.meta for x in val1) == 5  # segments > 1 ms past 'duration'
    raw = L.load_densevid_refs(ann / "activitynet_captions" / "val_1.json")
    assert raw["v_uqiMw7tQ1Cc"].sentences[1].startswith("  The coach")  # raw refs keep the text as is
    yc2 = L.load_youcook2(ann / "youcook2" / "yc2_val.json")
    assert len(yc2) == 457 and sum(len(x.events) for x in yc2) == 3492 and yc2[0].source == "youcook2"


def test_timechat_tvg_gt(ann: Path) -> None:
    gt = L.load_timechat_tvg_gt(ann / "timechat" / "tvg_example_gt_file.json")
    assert len(gt) == 3720
    assert (gt[0].id, gt[0].video, gt[0].spans[0].as_pair()) == ("0", "3MSZA.mp4", (24.3, 30.4))


def test_errors_name_file_and_line_or_key(tmp_path: Path) -> None:
    bad = tmp_path / "sta.txt"
    bad.write_text("AAAAA 1.0 2.0##ok\nBBBBB one 2.0##bad\n")
    with pytest.raises(UserError, match=r"sta.txt:2: start/end are not numbers"):
        L.load_charades_sta(bad)
    js = tmp_path / "qv.jsonl"
    js.write_text(
        '{"qid": 1, "query": "q", "vid": "v", "duration": 150, "relevant_windows": [[0, 2]]}\n\n{oops\n'
    )
    with pytest.raises(UserError, match=r"qv.jsonl:3: not valid JSON"):
        L.load_qvhighlights_rows(js)
    dv = tmp_path / "ref.json"
    dv.write_text(json.dumps({"v_x": {"duration": 10, "timestamps": [[0, 1], [2, 3]], "sentences": ["a"]}}))
    with pytest.raises(UserError, match=r"ref.json: key 'v_x': 2 timestamps but 1 sentences"):
        L.load_densevid_refs(dv)
    sub = tmp_path / "sub.jsonl"
    sub.write_text(
        '{"qid": 1, "pred_relevant_windows": [[0, 1, 0.5]]}\n{"qid": 2, "pred_relevant_windows": [[0, NaN, 0.5]]}\n'
    )
    with pytest.raises(UserError, match=r"sub.jsonl:2: pred_relevant_windows.0: non-finite number"):
        L.load_qvhighlights_submission(sub)


def test_etbench_sample_list(tmp_path: Path) -> None:
    f = tmp_path / "etbench.json"
    f.write_text(
        json.dumps(
            [{"task": "tvg", "source": "charades_sta", "tgt": [[1, 2]], "a": "1 - 2"}, {"task": "tvg"}]
        )
    )
    with pytest.raises(UserError, match=r"item 1: missing field\(s\) \['source'\]"):
        L.load_etbench(f)
    f.write_text(json.dumps([{"task": "tvg", "source": "charades_sta", "tgt": [[1, 2]]}]))
    assert L.load_etbench(f)[0]["task"] == "tvg"
    with pytest.raises(UserError, match="item 0: no model answer in 'a'"):
        L.load_etbench(f, require_answers=True)

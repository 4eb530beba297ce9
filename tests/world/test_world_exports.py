"""TempoWorld exports parse as the official formats and every query's answer is in the ground truth."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tempoforge.io.jsonl import read_jsonl
from tempoforge.records import DenseCaptionSample, GroundingSample, Span
from tempoforge.world import World, generate_world, preset_config
from tempoforge.world.exports import charades_line, qvhighlights_row
from tempoforge.world.scene import VideoScript

# Charades-STA line: "VID START END##sentence" (checked against the real file below)
CHARADES = re.compile(r"^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)##(.+)$")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    cfg = preset_config("standard", width=56, height=56, min_duration=20.0, max_duration=30.0, min_events=3,
                        max_events=6, object_size=0.12, fps=2.0, workers=1)
    return generate_world(tmp_path_factory.mktemp("exports"), 12, seed=2, config=cfg, progress=False)


def _ann(world: World, name: str) -> Path:
    return world.root / "annotations" / name


def _by_id(world: World) -> dict[str, VideoScript]:
    return {s.id: s for s in world.scripts}


def test_activitynet_dense_captions_layout(world: World, datasets_dir: Path) -> None:
    real = json.loads((datasets_dir / "annotations/activitynet_captions/val_1.json").read_text())
    real_keys = set(next(iter(real.values())).keys())
    ours = json.loads(_ann(world, "dense_captions.json").read_text())
    assert set(ours) == {s.id for s in world.scripts}
    for vid, entry in ours.items():
        assert set(entry) == real_keys == {"duration", "timestamps", "sentences"}
        assert len(entry["timestamps"]) == len(entry["sentences"]) > 0
        assert all(isinstance(x, str) and x for x in entry["sentences"])
        ts = entry["timestamps"]
        # the dense partition: starts at 0, ends at the duration, no gap, no overlap
        assert ts[0][0] == 0.0 and ts[-1][1] == entry["duration"] == _by_id(world)[vid].duration
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ts))
        assert all(s < e for s, e in ts)


def test_dense_jsonl_loads_as_records(world: World) -> None:
    samples = list(read_jsonl(_ann(world, "dense.jsonl"), DenseCaptionSample))
    assert [s.id for s in samples] == [s.id for s in world.scripts]
    for sample in samples:
        kinds = {e.attributes["kind"] for e in sample.events}
        assert "action" in kinds and kinds <= {"action", "static", "transition"}


def test_grounding_queries_have_their_answers(world: World) -> None:
    scripts = _by_id(world)
    samples = list(read_jsonl(_ann(world, "grounding.jsonl"), GroundingSample))
    assert len(samples) >= len(world.scripts) * 3
    for g in samples:
        s = scripts[g.video.removeprefix("../videos/").removesuffix(".mp4")]
        assert (world.root / "annotations" / g.video).is_file()
        matching = sorted((e for e in s.events if e.caption == g.meta["canonical"]), key=lambda e: e.start)
        assert matching, f"{g.id}: no event has the caption {g.meta['canonical']!r}"
        assert [sp.as_pair() for sp in g.spans] == [(e.start, e.end) for e in matching]
        assert g.query in {matching[0].caption, *matching[0].paraphrases}
        assert all(0 <= sp.start < sp.end <= s.duration for sp in g.spans)
    # the standard preset paraphrases about half of the queries
    assert any(g.query != g.meta["canonical"] for g in samples)


def test_charades_sta_lines(world: World, datasets_dir: Path) -> None:
    real = (datasets_dir / "annotations/charades_sta/charades_sta_test.txt").read_text().splitlines()
    assert all(CHARADES.match(line) for line in real[:500])  # the regex describes the real format
    lines = _ann(world, "charades_sta.txt").read_text().splitlines()
    scripts = _by_id(world)
    assert lines
    for line in lines:
        m = CHARADES.match(line)
        assert m, line
        vid, start, end, sentence = m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)
        s = scripts[vid]
        assert 0 <= start < end <= s.duration
        assert any(e.start == start and e.end == end and sentence in (e.caption, *e.paraphrases) for e in s.events)


def test_charades_line_format_by_hand() -> None:
    g = GroundingSample(id="x", video="v.mp4", query="the red circle grows", duration=10.0, spans=[Span.of(1.5, 4.0)])
    assert charades_line(g, "tw00001") == "tw00001 1.50 4.00##the red circle grows"


def test_qvhighlights_row_by_hand() -> None:
    # duration 13 -> floor(13 / 2) = 6 clips [0,2) .. [10,12); window [1.5, 4.0]:
    # clip 0 covered 0.5 s -> f = 0.25 -> ceil(1.0) = 1; clip 1 covered 2 s -> f = 1 -> 4; clip 2 not touched
    g = GroundingSample(id="x", video="v.mp4", query="q", duration=13.0, spans=[Span.of(1.5, 4.0)])
    row = qvhighlights_row(7, g, "tw00000")
    assert row == {"qid": 7, "query": "q", "duration": 13.0, "vid": "tw00000", "relevant_windows": [[1.5, 4.0]],
                   "relevant_clip_ids": [0, 1], "saliency_scores": [[1, 1, 1], [4, 4, 4]]}
    # two windows: [4.5, 5.0] covers 0.5 s of clip 2 -> 1; [5.0, 7.2] covers 1 s of clip 2 (total 1.5 s ->
    # f = 0.75 -> 3) and 1.2 s of clip 3 (f = 0.6 -> ceil(2.4) = 3)
    g2 = GroundingSample(id="y", video="v.mp4", query="q", duration=13.0, spans=[Span.of(4.5, 5.0), Span.of(5.0, 7.2)])
    row2 = qvhighlights_row(0, g2, "v")
    assert row2 is not None
    assert row2["relevant_clip_ids"] == [2, 3] and row2["saliency_scores"] == [[3, 3, 3], [3, 3, 3]]
    # a window after the last whole clip has no clip: no row (the official scorer rejects clip ids >= n)
    g3 = GroundingSample(id="z", video="v.mp4", query="q", duration=13.0, spans=[Span.of(12.0, 13.0)])
    assert qvhighlights_row(0, g3, "v") is None


def test_qvhighlights_jsonl_matches_the_real_fields(world: World, datasets_dir: Path) -> None:
    real = next(iter(read_jsonl(datasets_dir / "annotations/qvhighlights/highlight_val_release.jsonl")))
    rows = list(read_jsonl(_ann(world, "qvhighlights.jsonl")))
    assert rows and [r["qid"] for r in rows] == list(range(len(rows)))
    for r in rows:
        assert set(r) == set(real)
        assert isinstance(r["qid"], int) and isinstance(r["query"], str)
        n = math.floor(r["duration"] / 2)
        assert all(0 <= c < n for c in r["relevant_clip_ids"])
        assert len(r["saliency_scores"]) == len(r["relevant_clip_ids"])
        assert all(len(t) == 3 and all(isinstance(x, int) and 1 <= x <= 4 for x in t) for t in r["saliency_scores"])
        for c in r["relevant_clip_ids"]:  # every relevant clip overlaps a relevant window
            assert any(min(2 * c + 2, e) > max(2 * c, s) for s, e in r["relevant_windows"])


def _names(s: VideoScript) -> set[str]:
    return set().union(*(s.names_of(o.id) for o in s.objects))


def test_refusal_queries_match_nothing_in_the_video(world: World) -> None:
    scripts = _by_id(world)
    samples = list(read_jsonl(_ann(world, "refusal.jsonl"), GroundingSample))
    kinds = {"irrelevant": 0, "partial": 0}
    for g in samples:
        s = scripts[g.video.removeprefix("../videos/").removesuffix(".mp4")]
        assert not g.relevant and g.spans == []
        kinds[g.meta["kind"]] += 1
        all_captions = {c for e in s.events for c in (e.caption, *e.paraphrases)}
        assert g.query not in all_captions
        subject = " ".join(g.query.split(" ")[1:3])
        if g.meta["kind"] == "irrelevant" or g.meta["changed"] in ("color", "shape"):
            assert subject not in _names(s), f"{g.id}: {subject} is in the video"
        else:  # same object, changed direction / action: that object never does it
            src = s.events[g.meta["source_event"]]
            assert g.meta["true_query"] == src.caption and subject == src.subject.removeprefix("the ")
            same_obj = [e for e in s.events if e.object_id == src.object_id]
            assert g.query not in {e.caption for e in same_obj}
    assert kinds["irrelevant"] >= len(world.scripts) and kinds["partial"] >= len(world.scripts)


def _check_mcq(q: dict[str, Any], s: VideoScript) -> None:
    ans = q["options"][q["answer"]]
    assert ans == q["answer_text"]
    if q["type"] == "order":
        evs = [next(e for e in s.events if e.caption == o) for o in q["options"]]
        assert ans == min(evs, key=lambda e: e.start).caption
    elif q["type"] == "before_after":
        a, b = (s.events[i] for i in q["meta"]["events"])
        truth = "before" if a.end <= b.start else "after" if b.end <= a.start else "at the same time"
        assert ans == truth
    elif q["type"] == "count":
        what = q["meta"]["counted"]
        n = len(s.transitions) if what == "scene changes" else sum(
            1 for e in s.events if e.action == what or (what == "move" and e.action == "stop"))
        assert ans == str(n)
    else:
        ev = s.events[q["meta"]["events"][0]]
        truth = {"move": ev.params.get("direction"), "stop": ev.params.get("direction"),
                 "rotate": "clockwise" if ev.params.get("clockwise") else "counterclockwise",
                 "appear": "it appears", "disappear": "it disappears", "grow": "it grows",
                 "shrink": "it shrinks"}[ev.action]
        assert ans == truth and ev.subject in q["question"]


def test_multiple_choice_answers_are_right(world: World) -> None:
    scripts = _by_id(world)
    qs = list(read_jsonl(_ann(world, "mcq.jsonl")))
    assert {q["type"] for q in qs} == {"order", "before_after", "count", "direction"}
    for q in qs:
        assert len(q["options"]) == len(set(q["options"])) >= 2
        _check_mcq(q, scripts[q["video"].removeprefix("../videos/").removesuffix(".mp4")])


def test_etbench_samples(world: World) -> None:
    items = json.loads(_ann(world, "etbench.json").read_text())
    scripts = _by_id(world)
    assert [x["idx"] for x in items] == list(range(len(items)))
    assert {"tvg", "dvc", "rar"} <= {x["task"] for x in items}
    for x in items:
        assert {"version", "idx", "task", "source", "video", "duration", "q"} <= set(x)
        assert set(x) <= {"version", "idx", "task", "source", "video", "duration", "src", "tgt", "p", "o", "g", "q"}
        s = scripts[x["video"].removeprefix("../videos/").removesuffix(".mp4")]
        if x["task"] == "tvg":
            w = x["tgt"]  # one window, as the official tvg scorer reads it
            assert any([e.start, e.end] == w and any(f"'{c}'" in x["q"] for c in (e.caption, *e.paraphrases))
                       for e in s.events)
        elif x["task"] == "dvc":
            acts = [g for g in s.segments if g.kind == "action"]
            assert x["tgt"] == [[g.start, g.end] for g in acts] and x["g"] == [g.caption for g in acts]
        elif x["task"] == "rar":
            ev = next(e for e in s.events if [e.start, e.end] == x["src"])
            assert x["o"][x["p"]] == ev.caption and len(x["o"]) == 4
        elif x["task"] == "tem":
            src = next(e for e in s.events if [e.start, e.end] == x["src"])
            for w in x["tgt"]:
                other = next(e for e in s.events if [e.start, e.end] == w and e.index != src.index)
                assert other.key == src.key


def test_world_json_has_the_ground_truth(world: World) -> None:
    data = json.loads((world.root / "world.json").read_text())
    assert data["format"] == "tempoworld" and data["complete"] and data["seed"] == 2
    assert data["config"]["preset"] == "standard" and data["config"]["width"] == 56
    v = data["videos"][0]
    assert {"duration", "fps", "shots", "events", "static_spans", "causal", "segments", "transitions"} <= set(v)
    ev = v["events"][0]
    assert {"span", "caption", "subject", "action", "attributes"} == set(ev)


def test_exports_load_and_score_perfectly_with_the_projects_own_eval(world: World) -> None:
    from tempoforge.eval.loaders import (
        load_activitynet_captions,
        load_charades_sta,
        load_etbench,
        load_qvhighlights,
    )
    from tempoforge.eval.metrics.etbench import tem_eval, tvg_eval
    from tempoforge.eval.metrics.qvhighlights import eval_qvhighlights

    dense = load_activitynet_captions(_ann(world, "dense_captions.json"))
    assert [d.id for d in dense] == [s.id for s in world.scripts]
    durations = {s.id: s.duration for s in world.scripts}
    sta = load_charades_sta(_ann(world, "charades_sta.txt"), durations)
    assert len(sta) == len(_ann(world, "charades_sta.txt").read_text().splitlines())
    qvh = load_qvhighlights(_ann(world, "qvhighlights.jsonl"))
    assert qvh
    items = load_etbench(_ann(world, "etbench.json"))
    # answering with the ground truth scores 1.0 under the official E.T.Bench rules
    tvg = [{**x, "a": f"The event happens in {x['tgt'][0]} - {x['tgt'][1]} seconds."} for x in items if x["task"] == "tvg"]
    assert tvg_eval(tvg)["F1@0.7"] == 1.0
    tem = [{**x, "a": f"{x['tgt'][0][0]} - {x['tgt'][0][1]} seconds"} for x in items if x["task"] == "tem"]
    if tem:
        assert tem_eval(tem)["R@0.7"] == 1.0
    # and so does a QVHighlights submission made of the ground truth (moment_detr rules)
    gt = list(read_jsonl(_ann(world, "qvhighlights.jsonl")))
    sub = []
    for r in gt:
        sal = [0.0] * math.floor(r["duration"] / 2)
        for c, t in zip(r["relevant_clip_ids"], r["saliency_scores"]):
            sal[c] = float(t[0])
        sub.append({"qid": r["qid"], "pred_relevant_windows": [[*w, 1.0] for w in r["relevant_windows"]],
                    "pred_saliency_scores": sal})
    metrics = eval_qvhighlights(sub, gt)
    assert metrics["brief"]["MR-full-R1@0.7"] == 100.0

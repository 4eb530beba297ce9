"""Irrelevant / partially irrelevant queries (PIR-GRPO), built from the dataset itself."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from tempoforge.records import GroundingSample, Span
from tempoforge.synth.irrelevant import (
    ATTRIBUTES,
    OPPOSITES,
    main,
    mix_irrelevant,
    normalize_query,
    partial_query,
)


def _words(q: str) -> list[str]:
    return q.lower().split()


def test_partial_query_changes_exactly_one_attribute_word():
    q = "the red circle moves to the left"
    seen = set()
    for seed in range(40):
        got = partial_query(q, np.random.default_rng(seed))
        assert got is not None
        new, meta = got
        a, b = _words(q), _words(new)
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        assert len(a) == len(b) and len(diff) == 1
        old_w, new_w = a[diff[0]], b[diff[0]]
        assert meta["from"] == old_w and meta["to"] == new_w
        if meta["changed"] in ("colour", "shape"):
            assert old_w in ATTRIBUTES[meta["changed"]] and new_w in ATTRIBUTES[meta["changed"]]
        else:
            assert meta["changed"] == "direction" and OPPOSITES[old_w] == ("direction", new_w)  # left -> right
        seen.add(meta["changed"])
    assert seen == {"colour", "shape", "direction"}


def test_partial_query_respects_forbidden_and_case():
    rng = np.random.default_rng(0)
    assert partial_query("It moves Left", rng) == ("It moves Right", {"changed": "direction", "from": "left",
                                                                        "to": "right"})
    assert partial_query("it moves left", rng, {"it moves right"}) is None  # the only change is a real query
    assert partial_query("nothing to change here", rng) is None


def _dataset(same_queries: bool = False) -> list[GroundingSample]:
    colours = ["red", "blue", "green", "pink", "cyan"]
    out = []
    for v in range(5):
        c = "red" if same_queries else colours[v]
        queries = [f"the {c} circle appears", f"the {c} square moves to the left", "a person opens the door",
                   f"the {c} star grows"]
        out += [GroundingSample(id=f"v{v}_q{k}", video=f"videos/v{v}.mp4", query=q, duration=10.0,
                                spans=[Span.of(k, k + 2)]) for k, q in enumerate(queries)]
    return out


def test_mix_irrelevant_ratio_and_properties():
    data = _dataset()  # 20 relevant samples, every video has the same 4 queries
    mixed, stats = mix_irrelevant(data, ratio=0.2, partial_share=0.5, seed=0)
    # wanted = round(0.2 * 20 / 0.8) = 5 -> 5 of 25 (20%); partial = round(5 * 0.5) = round(2.5) = 2 (half-even)
    assert (stats.relevant, stats.wanted, stats.partial, stats.irrelevant) == (20, 5, 2, 3)
    assert len(mixed) == 25 and mixed[:20] == data
    by_video = {}
    for s in data:
        by_video.setdefault(s.video, set()).add(normalize_query(s.query))
    src = {s.id: s for s in data}
    for s in mixed[20:]:
        assert not s.relevant and s.spans == [] and s.duration == 10.0
        assert normalize_query(s.query) not in by_video[s.video], "never a query that is true in this video"
        base = src[s.meta["source_id"]]
        assert s.video == base.video
        if s.meta["kind"] == "partial":
            a, b = _words(base.query), _words(s.query)
            assert sum(x != y for x, y in zip(a, b, strict=True)) == 1
        else:
            assert s.meta["kind"] == "irrelevant" and src[s.meta["query_from"]].video != s.video
    assert len({s.meta["source_id"] for s in mixed[20:]}) == 5, "one refusal sample per source sample"


def test_mix_irrelevant_fills_the_shortfall_with_the_other_kind():
    # every video has the same queries: no other-video query is irrelevant anywhere -> all 5 are partial
    mixed, stats = mix_irrelevant(_dataset(same_queries=True), ratio=0.2, partial_share=0.5, seed=0)
    assert (stats.partial, stats.irrelevant) == (5, 0)
    assert all(s.meta["kind"] == "partial" for s in mixed[20:])


def test_mix_irrelevant_is_deterministic_and_seeded():
    data = _dataset()
    a, _ = mix_irrelevant(data, 0.2, seed=0)
    b, _ = mix_irrelevant(data, 0.2, seed=0)
    c, _ = mix_irrelevant(data, 0.2, seed=1)
    assert a == b
    assert [s.id for s in a[20:]] != [s.id for s in c[20:]] or [s.query for s in a[20:]] != [s.query for s in c[20:]]
    assert mix_irrelevant(data, 0.0)[1].wanted == 0
    with pytest.raises(ValueError):
        mix_irrelevant(data, 1.0)


def test_mix_on_tempoworld_and_cli(tiny_world: Path, tmp_path: Path):
    data = tiny_world / "annotations" / "grounding.jsonl"
    out = tmp_path / "sub" / "mixed.jsonl"
    args = argparse.Namespace(config=None, data=data, out=out, ratio=0.25, partial_share=0.5, seed=0)
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    irr = [r for r in rows if not r["relevant"]]
    assert len(irr) == round(0.25 * (len(rows) - len(irr)) / 0.75)
    truth: dict[str, set[str]] = {}
    for line in data.read_text().splitlines():
        r = json.loads(line)
        truth.setdefault(r["video"], set()).add(normalize_query(r["query"]))
    for r in rows:  # video paths rebased onto the output folder and still pointing at the videos
        assert (out.parent / r["video"]).resolve().is_file()
    for r in irr:
        assert r["meta"]["kind"] in ("partial", "irrelevant")
        original_video = "../videos/" + Path(r["video"]).name
        assert normalize_query(r["query"]) not in truth[original_video]

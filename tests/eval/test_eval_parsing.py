"""Our span parser: the hand-written regression corpus and specific behaviours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempoforge.eval.parsing import is_refusal, parse_spans

CORPUS = Path(__file__).resolve().parent / "data" / "parse_corpus.jsonl"


def _corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def test_corpus_is_large_and_covers_every_status() -> None:
    cases = _corpus()
    assert len(cases) >= 100
    assert {c["status"] for c in cases} == {"ok", "refusal", "empty", "unparseable"}


@pytest.mark.parametrize("case", _corpus(), ids=lambda c: c["text"][:40])
def test_corpus_case(case: dict) -> None:
    res = parse_spans(case["text"])
    assert res.status == case["status"]
    got = [x for w in res.windows for x in w]
    assert len(res.windows) == len(case["windows"])
    assert got == pytest.approx([x for w in case["windows"] for x in w])


def test_raw_order_kept_and_normalised_windows() -> None:
    res = parse_spans("The clip goes 20.1 - 12.5, then 3 - 4.")
    assert res.raw_windows == [(20.1, 12.5), (3.0, 4.0)]
    assert res.windows == [(12.5, 20.1), (3.0, 4.0)]
    assert res.first == (12.5, 20.1)


def test_answer_tag_span_is_reported() -> None:
    text = "<think>maybe 1 - 2</think><answer>3.0 - 4.5</answer>"
    res = parse_spans(text)
    assert res.used_text == "3.0 - 4.5"
    assert text[res.used_span[0] : res.used_span[1]] == "3.0 - 4.5"
    assert res.source == "text"


def test_json_scores_kept() -> None:
    res = parse_spans('{"relevant_windows": [[1, 2, 0.9], [5, 7, 0.3]]}')
    assert res.source == "json"
    assert res.scores == [0.9, 0.3]


def test_refusal_phrases() -> None:
    for text in ("does not appear", "not present", "no such event", "cannot be found", "never happens"):
        assert is_refusal(f"The event {text}."), text
    assert not is_refusal("The event happens at 3 - 5 s.")


def test_never_raises_on_odd_input() -> None:
    for text in ("{[}", "1:2:3:4:5", "-" * 50, "9" * 400, "[[1, 2], [3]", "<answer><answer>", "\x00\x01"):
        assert parse_spans(text).status in ("ok", "refusal", "empty", "unparseable")

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


def test_spans_must_be_finite_times_inside_the_video() -> None:
    res = parse_spans("[NaN, Infinity]")
    assert (res.status, res.windows) == ("unparseable", [])
    assert res.problems == ["span nan-inf rejected: not a finite number"]
    assert parse_spans("-5 to -2 seconds").problems == ["span -5--2 rejected: negative time"]
    assert parse_spans("from 0:00 to 9:99:99").problems == ["span 0-nan rejected: impossible clock time 9:99:99"]
    # a 400-digit JSON integer overflows a float: infinite, rejected (it raised OverflowError before)
    assert parse_spans(f"[1, {'9' * 400}]").status == "unparseable"
    # with the duration (30 s): an end up to 30 + 1 s is inside (rounding), 31.5 is past it
    assert parse_spans("from 20 to 31 seconds", duration=30.0).windows == [(20.0, 31.0)]
    past = parse_spans("from 20 to 31.5 seconds", duration=30.0)
    assert (past.status, past.problems) == ("unparseable", ["span 20-31.5 rejected: ends after the video (30 s)"])
    assert parse_spans("from 20 to 31.5 seconds").windows == [(20.0, 31.5)]  # no duration: not checked


def test_a_rejected_span_does_not_hide_the_valid_ones() -> None:
    res = parse_spans('{"relevant_windows": [[-1, 2, 0.9], [5, 7, 0.3]]}')
    assert res.windows == [(5.0, 7.0)] and res.scores == [0.3]
    assert res.problems == ["span -1-2 rejected: negative time"]


def test_decimal_commas() -> None:
    assert parse_spans("12,5 - 20,1 s").windows == [(12.5, 20.1)]  # was read as 5-20
    assert parse_spans("(12,5)").windows == [(5.0, 12.0)]  # the tuple form: two numbers
    res = parse_spans("1,000 - 2,000 s")
    assert res.status == "unparseable" and "ambiguous number 1,000" in res.problems[0]


def test_deep_nesting_and_long_answers_do_not_raise() -> None:
    assert parse_spans("[" * 1000).status == "unparseable"
    assert parse_spans("[" * 1200 + "]" * 1200).status == "unparseable"  # RecursionError before
    res = parse_spans("<answer>" + "1 to 2 " * 10_000 + "</answer>")
    assert res.status == "unparseable" and res.problems[0].startswith("answer is 70000 characters long")

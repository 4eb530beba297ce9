"""The answer parser is total: fuzzed and adversarial model answers never raise and never yield a bad span.

A model's output is untrusted input. Hypothesis generates 10,500 strings per run (each example is a batch of
50, which keeps the run to a few seconds): arbitrary unicode, and answers built from an adversarial grammar
seeded by Hypothesis (numbers of every shape including NaN / Infinity / 1e309 / 400-digit integers,
impossible clocks, decimal commas, units, range words, deep brackets, JSON with window keys, think/answer
tags, refusal phrases, repetitions). Every result must satisfy the invariants in ``_check``.
"""

from __future__ import annotations

import math
import random
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempoforge.eval.parsing import DURATION_TOLERANCE, MAX_ANSWER_CHARS, ParseResult, parse_spans

STATUSES = {"ok", "refusal", "empty", "unparseable"}
BATCH = 50
EXAMPLES = 210  # 210 x 50 = 10,500 generated strings
COUNT = {"strings": 0}

_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "9" * 400, "0.0", "-0", "1e-400", "12,5",
            "1,000", "3,25", "007", "1.", ".5", "1.2.3", "0x1F", "-5", "99:99", "9:99:99", "0:60", "1m75s"]
_WORDS = [
    " ", "  ", "-", " - ", "–", "~", " to ", " and ", "between ", "from ", " until ", "s", " seconds", " sec",
    " min", " minutes", " h", " hours", "starts at ", ", ends at ", "Start time: ", "\nEnd time: ", "at ",
    "around ", "[", "]", "(", ")", "{", "}", ",", ", ", ":", '"', "'", "<answer>", "</answer>", "<think>",
    "</think>", "<evi>", "</evi>", "**", "`", "#", "step ", "option ", " people", "%", " frames",
    "does not appear", "no such event", "never", "none", "N/A", "\x00", "\u200b", "é", "时间", "\ud7ff",
    '{"relevant_windows": ', '{"start": ', ', "end": ', '"timestamps": ', "null", "true",
]
_OPENERS = ["[", "{", "(", '{"windows": ', "[[", "<answer>", "<think>"]
_CLOSERS = ["]", "}", ")", "", "</answer>"]


def _number(rnd: random.Random) -> str:
    kind = rnd.randrange(7)
    if kind == 0:
        return str(rnd.randint(-10**6, 10**6))
    if kind == 1:
        return repr(rnd.uniform(-1e4, 1e4))
    if kind == 2:
        return f"{rnd.choice(['', '-'])}{rnd.randint(1, 9)}e{rnd.randint(-400, 400)}"
    if kind == 3:
        return f"{rnd.randrange(100)}:{rnd.randrange(100):02d}:{rnd.randrange(100):02d}"
    if kind == 4:
        return f"{rnd.randrange(100)}:{rnd.randrange(100):02d}"
    if kind == 5:
        return f"{rnd.randrange(10)}m{rnd.randrange(100)}s"
    return rnd.choice(_NUMBERS)


def _grammar_string(rnd: random.Random, seed_text: str) -> str:
    """An answer from the adversarial grammar, optionally wrapped in deep brackets or repeated."""
    parts = []
    for _ in range(rnd.randrange(25)):
        k = rnd.randrange(5)
        parts.append(_number(rnd) if k < 2 else rnd.choice(_WORDS) if k < 4 else seed_text[: rnd.randrange(8)])
    text = "".join(parts)
    shape = rnd.randrange(20)
    if shape == 0:  # deep nesting: 1000 levels broke json.loads with a RecursionError
        depth = rnd.randint(1, 1200)
        text = rnd.choice(_OPENERS) * depth + text + rnd.choice(_CLOSERS) * depth
    elif shape == 1:
        text = text * rnd.randint(2, 30)
    return text


def _check(text: str, res: ParseResult, duration: float | None) -> None:
    assert isinstance(res, ParseResult)
    assert res.status in STATUSES
    assert (res.status == "ok") == bool(res.windows)
    assert len(res.windows) == len(res.raw_windows)
    assert res.scores == [] or len(res.scores) == len(res.windows)
    for (s, e), raw in zip(res.windows, res.raw_windows):
        assert math.isfinite(s) and math.isfinite(e)
        assert 0.0 <= s <= e
        assert (s, e) == (min(raw), max(raw))
        if duration is not None:
            assert e <= duration + DURATION_TOLERANCE
    if text.strip():
        assert text[res.used_span[0]:res.used_span[1]] == res.used_text or res.status == "empty"


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(max_size=80), min_size=5, max_size=5), st.integers(0, 2**32),
       st.one_of(st.none(), st.floats(0.5, 10_000)))
def test_parser_is_total_on_fuzzed_answers(unicode: list[str], seed: int, duration: float | None) -> None:
    # Hypothesis draws arbitrary unicode and the seed of the grammar (cheap to generate in bulk)
    rnd = random.Random(seed)
    texts = unicode + [_grammar_string(rnd, unicode[i % 5]) for i in range(BATCH - 5)]
    for text in texts:
        COUNT["strings"] += 1
        _check(text, parse_spans(text, duration), duration)


def test_fuzz_really_ran_ten_thousand_strings() -> None:
    # pytest runs the tests of a module in file order: the fuzz test above has run by now
    if COUNT["strings"] == 0:  # run alone (-k): nothing to check
        return
    assert COUNT["strings"] >= 10_000


def test_adversarial_megabyte_answers_are_bounded() -> None:
    cases = {
        "open brackets": "[" * 1_000_000,
        "nested list": "[" * 400_000 + "1, 2" + "]" * 400_000,
        "digits and spaces": "1 " * 500_000,  # 5.6 s before the length cap
        "range chain": "1 to " * 200_000,
        "minus signs": "-1 " * 300_000,
    }
    for name, text in cases.items():
        t0 = time.perf_counter()
        res = parse_spans(text)
        took = time.perf_counter() - t0
        assert res.status == "unparseable", name
        assert res.problems == [f"answer is {len(text)} characters long; at most {MAX_ANSWER_CHARS} are parsed"]
        assert took < 1.0, (name, took)  # measured ~1 ms; generous for a shared 2-core machine


def test_longest_parsed_answer_is_still_fast() -> None:
    text = ("1 " * (MAX_ANSWER_CHARS // 2))[:MAX_ANSWER_CHARS]  # the slowest pattern at the cap
    t0 = time.perf_counter()
    assert parse_spans(text).status == "unparseable"  # bare numbers are not spans
    assert time.perf_counter() - t0 < 2.0  # measured ~0.2 s

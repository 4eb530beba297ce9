"""The official scorers' own parsers, rule by rule (METRICS.md sections 2 and 4)."""

from __future__ import annotations

from tempoforge.eval.parsers_official import (
    parse_etbench_dvc,
    parse_etbench_tvg,
    parse_etbench_vhd,
    parse_lmms_eval_harness,
    parse_lmms_eval_tvg,
)


# ---- lmms-eval eval_tvg.py extract_time (HEAD 75571cfe, L20-107); stages: keyword filter, range, number,
# ---- hh:mm:ss (unreachable), "12s - 15s" fallback, swap, first pair
def test_lmms_tvg_answers_without_a_keyword_sentence_never_parse() -> None:
    # L29-33: only sentences containing start/end/happen... are candidates, and every stage reads only them
    assert parse_lmms_eval_tvg("7 - 14") == []
    assert parse_lmms_eval_tvg("From 4.0 to 11.0 seconds.") == []  # "from 4.0 - 11.0 seconds.": no keyword
    assert parse_lmms_eval_tvg("The event does not appear in the video.") == []  # refusal, no keyword
    assert parse_lmms_eval_tvg("") == []


def test_lmms_tvg_to_replacement_in_a_keyword_sentence() -> None:
    # L22: "to" -> "-" everywhere: "happens from 4.0 - 11.0 seconds." -> range stage (4.0, 11.0)
    assert parse_lmms_eval_tvg("The event happens from 4.0 to 11.0 seconds.") == [[4.0, 11.0]]
    # inside a word too: "start time 2to5" -> "start time 2-5"
    assert parse_lmms_eval_tvg("start time 2to5") == [[2.0, 5.0]]
    # keywords are substrings: "weekend" contains "end"
    assert parse_lmms_eval_tvg("weekend 3 - 5") == [[3.0, 5.0]]


def test_lmms_tvg_range_stage_first_keyword_sentence_first_pair() -> None:
    # sentences split on ! ? newline; "the video 3 - 4 people" has no keyword and is skipped;
    # the first candidate with a range gives (10, 12) and (13, 15); only the first is kept; en dash accepted
    text = "the video 3 - 4 people!the event happens in 10 - 12 or 13 - 15"
    assert parse_lmms_eval_tvg(text) == [[10.0, 12.0]]
    assert parse_lmms_eval_tvg("It happens in 10–12 s.") == [[10.0, 12.0]]
    # no sign in the number pattern: "-1.0 - 5.0" reads (1.0, 5.0); a reversed pair is swapped
    assert parse_lmms_eval_tvg("It happens at -1.0 - 5.0") == [[1.0, 5.0]]
    assert parse_lmms_eval_tvg("It happens at 9.5 - 3") == [[3.0, 9.5]]
    # "5..1 - 9": (\d+(?:\.\d+)?) cannot take "5..1"; the match starts at "1": (1, 9); no crash
    assert parse_lmms_eval_tvg("It starts 5..1 - 9") == [[1.0, 9.0]]


def test_lmms_tvg_strips_example_prompt() -> None:
    # without the removal this one sentence (no ! ? newline) would first match 20.8 - 30.0
    text = "A specific example is : 20.8 - 30.0 seconds. The event happens in 4 - 6"
    assert parse_lmms_eval_tvg(text) == [[4.0, 6.0]]


def test_lmms_tvg_number_stage_first_number_per_sentence() -> None:
    # "." does not split: one sentence -> one first number (5.2) -> odd count truncated -> nothing
    assert parse_lmms_eval_tvg("The event starts at 5.2 seconds and ends at 10.1 seconds.") == []
    assert parse_lmms_eval_tvg("The event happens at 5 seconds.") == []  # a single timestamp
    assert parse_lmms_eval_tvg("I cannot tell when it happens.") == []  # keyword, no number
    # two sentences: first number of each, paired -> (5.2, 10.1)
    assert parse_lmms_eval_tvg("It starts at 5.2 seconds.\nIt ends at 10.1 seconds.") == [[5.2, 10.1]]
    # \b(\d+(?:\.\d+)?)\b: "5.2s" has no word boundary between "2" and "s", so it reads 5
    assert parse_lmms_eval_tvg("It starts at 5.2s\nIt ends at 9.5 s") == [[5.0, 9.5]]
    # three sentences: [1, 4, 7] truncated to [1, 4]; swap (9, 3) -> [3, 9]; equal numbers stay [5, 5]
    assert parse_lmms_eval_tvg("starts 1\nends 4\nhappens again 7") == [[1.0, 4.0]]
    assert parse_lmms_eval_tvg("It ends at 9\nIt starts at 3") == [[3.0, 9.0]]
    assert parse_lmms_eval_tvg("It starts at 5\nIt ends at 5") == [[5.0, 5.0]]


def test_lmms_tvg_clock_answers() -> None:
    # one sentence: the first number of "00:00:18" is "00" -> one number -> nothing; the hh:mm:ss stage
    # would take only the first clock (18) -> one time -> nothing either
    assert parse_lmms_eval_tvg("The event starts at 00:00:18 and ends at 00:00:23.") == []
    # two lines: the number stage already pairs the "00"s -> [0, 0] (the hh:mm:ss stage is never reached)
    assert parse_lmms_eval_tvg("It starts at 00:00:18\nIt ends at 00:00:23") == [[0.0, 0.0]]


def test_lmms_tvg_seconds_unit_fallback() -> None:
    # range stage: "5.2s - 10s" has "s" before the dash -> no match; number stage: one sentence, first
    # number 5 ("5.2s" reads 5) -> nothing; fallback (\d+(?:\.\d+)?)\s*s?\s*[–-]\s*(...)\s*s? -> (5.2, 10)
    assert parse_lmms_eval_tvg("The event happens at 5.2s - 10s.") == [[5.2, 10.0]]
    # fallback also reads keyword sentences only
    assert parse_lmms_eval_tvg("5.2s - 10s") == []


def test_lmms_harness_clock_range_first() -> None:
    # clock range "0:12 - 0:20" wins; eval_tvg would read "12 - 0" instead (in a keyword sentence)
    assert parse_lmms_eval_harness("0:12 - 0:20") == [[12.0, 20.0]]
    assert parse_lmms_eval_tvg("It happens 0:12 - 0:20") == [[0.0, 12.0]]


def test_lmms_harness_clock_times_paired() -> None:
    assert parse_lmms_eval_harness("The event starts at 00:00:18 and ends at 00:00:23.") == [[18.0, 23.0]]


def test_lmms_harness_en_dash_and_keyword_sentences() -> None:
    # keyword sentences only: "video 3–4" sentence has no keyword, so the second sentence's range is used
    text = "the video 3–4 people!the event happens in 10–12"
    assert parse_lmms_eval_harness(text) == [[10.0, 12.0]]


def test_lmms_harness_first_numbers_fallback() -> None:
    # no range and no clock: first number of each keyword sentence, paired
    assert parse_lmms_eval_harness("start: 4 s\nend: 9 s") == [[4.0, 9.0]]


def test_etbench_tvg_order_of_stages() -> None:
    # 1. "a - b" pairs (all of them, swapped)
    assert parse_etbench_tvg("9 - 3 and 10 - 12") == [[3.0, 9.0], [10.0, 12.0]]
    # 2. "a to b" only when no dash pair exists
    assert parse_etbench_tvg("from 4 to 8") == [[4.0, 8.0]]
    assert parse_etbench_tvg("from 4 to 8, or 1 - 2") == [[1.0, 2.0]]
    # 3. keyword sentences split on ! ? \n; an odd count is truncated
    assert parse_etbench_tvg("It starts at 3.5!It ends at 7") == [[3.5, 7.0]]
    assert parse_etbench_tvg("It starts at 3.5!It ends at 7!It happens again at 9") == [[3.5, 7.0]]
    assert parse_etbench_tvg("It starts at 3.5") is None
    # no sign in the number pattern
    assert parse_etbench_tvg("-2 - 4") == [[2.0, 4.0]]
    assert parse_etbench_tvg("nothing here") is None


def test_etbench_vhd_first_signed_number() -> None:
    assert parse_etbench_vhd("The highlight is at -3.5 s, or 10") == -3.5
    assert parse_etbench_vhd("at +12 seconds") == 12.0
    assert parse_etbench_vhd("around .5") == 0.5
    assert parse_etbench_vhd("no number") is None


def test_etbench_dvc_pairs_and_captions() -> None:
    text = "0.0 - 5.0 seconds, a man cooks pasta.\n5.0 - 9.0 seconds, he eats it."
    # fragments between the pairs; "seconds" removed; ", " stripped
    assert parse_etbench_dvc(text) == ([[0.0, 5.0], [5.0, 9.0]], ["a man cooks pasta.", "he eats it."])


def test_etbench_dvc_preamble_shifts_captions_and_short_fragments_dropped() -> None:
    # the preamble before the first pair becomes caption 1; "ok." (<= 5 chars) is dropped
    text = "Events: 0 - 5 ok. 5 - 9 the man is cooking"
    times, caps = parse_etbench_dvc(text)
    assert times == [[0.0, 5.0], [5.0, 9.0]]
    assert caps == ["events:", "the man is cooking"]


def test_etbench_dvc_cut_to_same_length_and_sorted() -> None:
    # 2 windows but one caption-long fragment -> both cut to 1; reversed window sorted
    times, caps = parse_etbench_dvc("9 - 3 the person runs fast. 10 - 12")
    assert times == [[3.0, 9.0]]
    assert caps == ["the person runs fast."]


def test_etbench_dvc_start_end_time_form() -> None:
    text = "* start time: 1.5s, end time: 4.0s\nStarting time: 1.5 seconds\nEnding time: 4 seconds\ndescription: a dog barks"
    times, caps = parse_etbench_dvc(text)
    assert times == [[1.5, 4.0]]
    assert caps == ["a dog barks"]


def test_etbench_dvc_fallback_single_instant_radius() -> None:
    # no pair: per-sentence fallback, a single number 30 > 20 -> [30 - 20, 30 + 20]
    assert parse_etbench_dvc("At 30 seconds, a man cooks pasta in a pan.") == (
        [[10.0, 50.0]],
        ["a man cooks pasta in a pan."],
    )
    # 5 <= 20 -> [5, 5 + 40]
    assert parse_etbench_dvc("At 5 seconds, a man cooks pasta in a pan.")[0] == [[5.0, 45.0]]


def test_etbench_dvc_unparseable() -> None:
    assert parse_etbench_dvc("A man cooks pasta.") == (None, None)
    assert parse_etbench_dvc("") == (None, None)

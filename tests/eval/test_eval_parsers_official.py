"""The official scorers' own parsers, rule by rule (METRICS.md sections 2 and 4)."""

from __future__ import annotations

from tempoforge.eval.parsers_official import (
    parse_etbench_dvc,
    parse_etbench_tvg,
    parse_etbench_vhd,
    parse_lmms_eval_harness,
    parse_lmms_eval_tvg,
)


def test_lmms_tvg_to_replacement_and_first_pair_only() -> None:
    # "to" -> "-": "from 12.5 - 20.1 seconds"; two pairs -> first pair only
    assert parse_lmms_eval_tvg("From 12.5 to 20.1 seconds, and again 30 - 40.") == [[12.5, 20.1]]


def test_lmms_tvg_to_replacement_inside_words() -> None:
    # "2 tons 5" has no pair, but lower-casing + "to"->"-" turns "2to5" (and "2 to5") into a pair
    assert parse_lmms_eval_tvg("step 2to5") == [[2.0, 5.0]]
    # "photo" -> "pho-": "photo 3" is not preceded by a digit, so nothing pairs
    assert parse_lmms_eval_tvg("a photo 3 people") == []


def test_lmms_tvg_starts_at_ends_at_single_sentence_fails() -> None:
    # one keyword sentence -> only its first number (5.2) -> odd count truncated -> no pair
    assert parse_lmms_eval_tvg("The event starts at 5.2 seconds and ends at 10.1 seconds.") == []
    # two sentences split on "\n": first number of each -> [5.2, 10.1]
    assert parse_lmms_eval_tvg("It starts at 5.2 seconds.\nIt ends at 10.1 seconds.") == [[5.2, 10.1]]


def test_lmms_tvg_clock_answer_fails() -> None:
    # "00:00:18" gives the number "00" in the keyword stage; one sentence -> one number -> nothing
    assert parse_lmms_eval_tvg("The event starts at 00:00:18 and ends at 00:00:23.") == []


def test_lmms_tvg_no_minus_sign_and_swap() -> None:
    assert parse_lmms_eval_tvg("-1.0 - 5.0") == [[1.0, 5.0]]
    assert parse_lmms_eval_tvg("9.5 - 3") == [[3.0, 9.5]]


def test_lmms_tvg_strips_example_prompt() -> None:
    text = "A specific example is : 20.8 - 30.0 seconds. The answer: 4 - 6"
    assert parse_lmms_eval_tvg(text) == [[4.0, 6.0]]


def test_lmms_tvg_malformed_number_is_invalid_not_crash() -> None:
    assert parse_lmms_eval_tvg("5..1 - 9") == []


def test_lmms_harness_clock_range_first() -> None:
    # clock range "0:12 - 0:20" wins; eval_tvg would read "12 - 0" instead
    assert parse_lmms_eval_harness("0:12 - 0:20") == [[12.0, 20.0]]
    assert parse_lmms_eval_tvg("0:12 - 0:20") == [[0.0, 12.0]]


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

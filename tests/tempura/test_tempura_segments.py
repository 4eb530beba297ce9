"""Validation of teacher segmentations (repair small slips, reject the rest) and the exact sample formats."""

from __future__ import annotations

import pytest

from tempoforge.synth.segments import SegmentationError, check_events
from tempoforge.synth.teachers.base import TeacherEvent as E
from tempoforge.synth.tempura_samples import (
    dense_target,
    masked_target,
    parse_dense_answer,
    parse_masked_answer,
)


def spans(events):
    return [(e.start, e.end) for e in events]


def test_valid_partition_passes_unchanged():
    out = check_events([E(0, 3, "a"), E(3, 7.5, "b"), E(7.5, 10, "c")], 10.0)
    assert spans(out.events) == [(0, 3), (3, 7.5), (7.5, 10)] and out.repairs == []


def test_small_gap_and_overlap_closed_at_midpoint():
    # gap 3.0 -> 3.4 closes at (3.0 + 3.4) / 2 = 3.2; overlap 6.0 vs 5.6 closes at (6.0 + 5.6) / 2 = 5.8
    out = check_events([E(0, 3.0, "a"), E(3.4, 6.0, "b"), E(5.6, 10, "c")], 10.0, tolerance=1.0)
    assert spans(out.events) == [(0, 3.2), (3.2, 5.8), (5.8, 10)]
    assert [r.split(" ")[0] for r in out.repairs] == ["closed_gap", "closed_overlap"]


def test_ends_repaired_within_tolerance():
    # starts 0.6 s late -> extended to 0; ends 0.9 s past the 10 s duration -> clamped to 10
    out = check_events([E(0.6, 5, "a"), E(5, 10.9, "b")], 10.0)
    assert spans(out.events) == [(0, 5), (5, 10)]
    assert [r.split(":")[0] for r in out.repairs] == ["extended_start", "clamped_end"]
    # ends 0.5 s early -> extended to the duration; starts at -0.2 -> clamped
    out = check_events([E(-0.2, 5, "a"), E(5, 9.5, "b")], 10.0)
    assert spans(out.events) == [(0, 5), (5, 10)]


def test_out_of_order_events_are_sorted():
    out = check_events([E(5, 10, "b"), E(0, 5, "a")], 10.0)
    assert [e.description for e in out.events] == ["a", "b"] and out.repairs == ["reordered"]


@pytest.mark.parametrize(("events", "code"), [
    ([], "no_events"),
    ([E(0, 4, "a"), E(5, 10, "b")], "gap"),               # 1.0 s gap = tolerance: rejected
    ([E(0, 6, "a"), E(4.5, 10, "b")], "overlap"),          # 1.5 s overlap
    ([E(2, 10, "a")], "coverage"),                         # 0-2 s uncovered
    ([E(0, 8, "a")], "coverage"),                          # 8-10 s uncovered
    ([E(0, 5, "a"), E(5, 12, "b")], "outside"),            # 2 s past the end
    ([E(0, 5, "a"), E(5, 4, "b")], "reversed"),
    ([E(0, 5, "a"), E(5, 5, "b"), E(5, 10, "c")], "empty_event"),
    ([E(0, 5, " "), E(5, 10, "b")], "empty_description"),
    ([E(0, 5.0, "a"), E(5.9, 6.0, "b"), E(6.0, 10, "c")], "too_short"),
])
def test_rejections(events, code):
    if code == "too_short":
        # gap 5.0 -> 5.9 closes at 5.45, so b = [5.45, 6.0] = 0.55 s: fine at min_length 0.1, too short at 0.6
        with pytest.raises(SegmentationError) as err:
            check_events(events, 10.0, tolerance=1.0, min_length=0.6)
    else:
        with pytest.raises(SegmentationError) as err:
            check_events(events, 10.0)
    assert err.value.code == code


def test_dense_target_format():
    evs = [E(0, 2.5, "Nothing moves."), E(2.5, 6, "the red circle moves left")]
    assert dense_target(evs) == "From 0.0 to 2.5, Nothing moves.\nFrom 2.5 to 6.0, the red circle moves left."
    assert parse_dense_answer(dense_target(evs)) == [(0.0, 2.5, "Nothing moves"), (2.5, 6.0, "the red circle moves left")]
    assert parse_dense_answer("junk\nFrom 1 to 2 seconds: a thing.\nfrom x to y") == [(1.0, 2.0, "a thing")]


def test_masked_target_is_verbatim_methods_2_3():
    t = masked_target("Step 1: the box is closed.", 3.0, 5.5, "the box opens.")
    assert t == ("<think>Step 1: the box is closed.</think><answer>So the description of the predicted event from "
                 "3.0 to 5.5 is: the box opens</answer>")
    assert parse_masked_answer(t) == ("Step 1: the box is closed.", 3.0, 5.5, "the box opens")
    assert parse_masked_answer("no answer here") is None

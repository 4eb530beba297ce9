"""Records validate with field-naming messages; time conversions round-trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from tempoforge.records import DenseCaptionSample, Event, Frames, GroundingSample, Prediction, Span
from tempoforge.timecode import (
    format_timestamp,
    frame_to_seconds,
    parse_timestamp,
    seconds_to_frame,
    uniform_times,
)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(math.nan, 1.0, "start"), (0.0, math.inf, "end"), (5.0, 2.0, "after end"), (-1.0, 2.0, "start")],
)
def test_span_rejects_bad_values(start, end, message):
    with pytest.raises(ValidationError, match=message):
        Span(start=start, end=end)


def test_span_from_pair_and_duration_check():
    assert Span.model_validate([1, 2.5]).length == 1.5
    with pytest.raises(ValidationError, match="exactly 2 numbers"):
        Span.model_validate([1, 2, 3])
    with pytest.raises(ValidationError, match=r"events\.1: end \(12.0\) is past the video duration \(10.0\)"):
        DenseCaptionSample(id="v", video="v.mp4", duration=10.0, events=[
            Event(span=Span.of(0, 4), caption="a"), Event(span=Span.of(4, 12), caption="b")])


def test_grounding_sample_relevance():
    with pytest.raises(ValidationError, match="relevant query needs"):
        GroundingSample(id="q", video="v", query="x", spans=[])
    irrelevant = GroundingSample(id="q", video="v", query="a purple star spins", spans=[], relevant=False)
    assert irrelevant.spans == []


def test_prediction_gt_forms():
    assert Prediction(id="a", gt=[1.0, 2.0]).gt_windows() == [[1.0, 2.0]]
    assert Prediction(id="a", gt=[[1.0, 2.0], [3, 4]]).gt_windows() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(ValidationError, match="non-finite"):
        Prediction(id="a", gt=[1.0, math.nan])


def test_frames_keep_times_paired():
    data = np.zeros((3, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="3 frames"):
        Frames(data, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-decreasing"):
        Frames(data, np.array([0.0, 2.0, 1.0]))
    data[2] = 7
    f = Frames(data, np.array([0.0, 0.5, 1.0]))
    sub = f.select([0, 2])
    assert sub.times.tolist() == [0.0, 1.0]
    assert sub.data[1].max() == 7 and sub.data[0].max() == 0


def test_frame_conversions_round_trip():
    for fps in (25.0, 30.0, 30000 / 1001, 0.5):
        for i in range(0, 2000, 37):
            assert seconds_to_frame(frame_to_seconds(i, fps), fps) == i
    # 29.97 fps: 1 s lies between frame 29 (0.9676 s) and frame 30 (1.001 s)
    assert seconds_to_frame(1.0, 30000 / 1001) == 29
    assert seconds_to_frame(1.0, 30000 / 1001, rounding="nearest") == 30
    assert seconds_to_frame(1.0, 30000 / 1001, rounding="ceil") == 30


def test_clock_format_and_parse():
    assert format_timestamp(65.5) == "00:01:05.5"
    assert format_timestamp(3600 + 2.04, decimals=2) == "01:00:02.04"
    assert parse_timestamp("00:01:05.5") == 65.5
    assert parse_timestamp("1:05") == 65.0
    assert parse_timestamp("12.5s") == 12.5
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp("soon")


def test_uniform_times():
    assert uniform_times(0.0, 3.0, fps=1.0) == [0.0, 1.0, 2.0]
    assert uniform_times(0.0, 3.5, fps=1.0) == [0.0, 1.0, 2.0, 3.0]
    assert uniform_times(0.0, 4.0, num=4) == [0.5, 1.5, 2.5, 3.5]

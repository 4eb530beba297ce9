"""Snapshot tests: the exact text each benchmark's prompt shows the model (a change must be deliberate)."""

from __future__ import annotations

import pytest

from tempoforge.errors import UserError
from tempoforge.models.prompts import (
    dense_captioning_prompt,
    grounding_prompt,
    masked_event_prompt,
    mcq_prompt,
    qvhighlights_prompt,
    task_for_benchmark,
    time_instruction,
)


def test_grounding_snapshot() -> None:
    assert grounding_prompt(" person turn a light on. ") == (
        'Give the start and end time of the moment described by the query, in seconds. '
        'Query: "person turn a light on.". Answer in the format "From X to Y seconds."')
    assert grounding_prompt("a dog barks", duration=30.0) == (
        'The video lasts 30.0 seconds. Give the start and end time of the moment described by the query, in '
        'seconds. Query: "a dog barks". Answer in the format "From X to Y seconds."')


def test_qvhighlights_snapshot() -> None:
    assert qvhighlights_prompt("a man talks", duration=150) == (
        'The video lasts 150.0 seconds. Find every moment of the video that matches the query, in seconds. '
        'Query: "a man talks". Answer with one line per moment in the format "From X to Y seconds.", the most '
        'relevant first.')


def test_dense_captioning_snapshot_is_tempura_verbatim() -> None:
    assert dense_captioning_prompt() == (
        "Partition and identify events by dividing the video into a series of non-overlapping segments, "
        "determining the start and end time for each event, and arranging them in chronological order to "
        "ensure complete coverage of all video frames. Each event should be accompanied by a detailed "
        "description.")


def test_mcq_snapshot() -> None:
    assert mcq_prompt("What happens first?", ["The door opens.", " A dog barks."]) == (
        "What happens first?\n(A) The door opens.\n(B) A dog barks.\n"
        "Answer with the option's letter from the given choices directly.")
    with pytest.raises(UserError, match="1-26 options"):
        mcq_prompt("q", [])


def test_tempura_masked_event_and_time_instruction_snapshots() -> None:
    assert masked_event_prompt(12.0, 20.25) == (
        "Given the input video with the masked segment from 12.0 to 20.2, please step-by-step reason and "
        "predict what might happen in the masked time segment.")
    assert time_instruction(1, [0.0, 1.0, 2.0], 3.0) == (
        "You are given a video sampled at 1 frame per second, so input video frames are sampled at 0.0, 1.0, "
        "2.0 second sequentially, so in total the video is 3.0 seconds long.")


def test_benchmark_names() -> None:
    assert task_for_benchmark("charades_sta") == "grounding"
    assert task_for_benchmark("Charades-STA") == "grounding"
    assert task_for_benchmark("youcook2") == "dense_captioning"
    with pytest.raises(UserError, match="known: activitynet-captions"):
        task_for_benchmark("charades")

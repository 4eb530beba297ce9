"""Prompt templates per benchmark, in one place (DESIGN.md principle 11: their exact text is snapshot-tested).

Tasks and the benchmarks that use them (each benchmark names its task in ``eval.benchmarks.BENCHMARKS``):

- ``grounding`` (Charades-STA, TempoWorld, any single-moment ``GroundingSample``): one span, answered as
  ``From X to Y seconds.``, which :func:`tempoforge.eval.parsing.parse_spans` and the official parsers read.
- ``qvhighlights``: every matching moment, most relevant first, one per line.
- ``dense_captioning`` (ActivityNet Captions, YouCook2): TEMPURA's dense-captioning instruction verbatim
  (METHODS.md 2.3); its targets are lines ``From <s> to <e>, <description>.``
- ``mcq``: lmms-eval's multiple-choice phrasing ("Answer with the option's letter ...").
- ``masked_event``: TEMPURA's masked event prediction instruction (METHODS.md 2.3).

Times in prompts use :func:`tempoforge.timecode.format_seconds` (one decimal).
"""

from __future__ import annotations

from collections.abc import Sequence

from tempoforge.errors import UserError
from tempoforge.eval.benchmarks import BENCHMARKS, find_benchmark
from tempoforge.timecode import format_seconds

__all__ = [
    "BENCHMARK_TASKS",
    "TASKS",
    "dense_captioning_prompt",
    "grounding_prompt",
    "masked_event_prompt",
    "mcq_prompt",
    "qvhighlights_prompt",
    "task_for_benchmark",
    "time_instruction",
]

GROUNDING = ('Give the start and end time of the moment described by the query, in seconds. '
             'Query: "{query}". Answer in the format "From X to Y seconds."')
QVHIGHLIGHTS = ('Find every moment of the video that matches the query, in seconds. Query: "{query}". '
                'Answer with one line per moment in the format "From X to Y seconds.", the most relevant first.')
DENSE_CAPTIONING = ("Partition and identify events by dividing the video into a series of non-overlapping "
                    "segments, determining the start and end time for each event, and arranging them in "
                    "chronological order to ensure complete coverage of all video frames. Each event should "
                    "be accompanied by a detailed description.")
MCQ_SUFFIX = "Answer with the option's letter from the given choices directly."
MASKED_EVENT = ("Given the input video with the masked segment from {start} to {end}, please step-by-step "
                "reason and predict what might happen in the masked time segment.")
DURATION = "The video lasts {duration} seconds. "

TASKS: tuple[str, ...] = ("grounding", "qvhighlights", "dense_captioning", "mcq", "masked_event")
BENCHMARK_TASKS: dict[str, str] = {  # from the benchmark table: every name predict takes -> its prompt task
    n: b.task for b in BENCHMARKS.values() if b.task is not None for n in b.names
}


def task_for_benchmark(benchmark: str) -> str:
    """The prompt task of a benchmark name, any spelling (a :class:`UserError` listing the known names)."""
    b = find_benchmark(benchmark)
    if b.task is None:
        raise UserError(f"predict cannot write {b.name} predictions (no prompt task for it); it writes "
                        f"{', '.join(sorted(BENCHMARK_TASKS))}")
    return b.task


def _duration(duration: float | None) -> str:
    return "" if duration is None else DURATION.format(duration=format_seconds(duration))


def grounding_prompt(query: str, duration: float | None = None) -> str:
    """Single-moment grounding; with ``duration``, prefixed by ``The video lasts D seconds.``"""
    return _duration(duration) + GROUNDING.format(query=query.strip())


def qvhighlights_prompt(query: str, duration: float | None = None) -> str:
    return _duration(duration) + QVHIGHLIGHTS.format(query=query.strip())


def dense_captioning_prompt(duration: float | None = None) -> str:
    return _duration(duration) + DENSE_CAPTIONING


def mcq_prompt(question: str, options: Sequence[str]) -> str:
    """``question``, then ``(A) option`` lines, then the letter instruction."""
    if not options or len(options) > 26:
        raise UserError(f"an MCQ needs 1-26 options, got {len(options)}")
    lines = [question.strip(), *(f"({chr(65 + i)}) {o.strip()}" for i, o in enumerate(options)), MCQ_SUFFIX]
    return "\n".join(lines)


def masked_event_prompt(start: float, end: float) -> str:
    return MASKED_EVENT.format(start=format_seconds(start), end=format_seconds(end))


def time_instruction(fps: float, times: Sequence[float], duration: float) -> str:
    """TEMPURA's optional time instruction (METHODS.md 2.2), with the actual frame times."""
    ts = ", ".join(format_seconds(t) for t in times)
    return (f"You are given a video sampled at {fps:g} frame per second, so input video frames are sampled at "
            f"{ts} second sequentially, so in total the video is {format_seconds(duration)} seconds long.")

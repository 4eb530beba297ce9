"""Helpers shared by the reward families: per-completion sample fields and the parsed first span.

Reward functions follow TRL's reward-function calling convention: ``fn(completions, **sample_fields)``
where ``completions`` is a list of model outputs (strings) and every sample field is a list aligned with
``completions`` (a field of the prompt is repeated once per completion of its group). The fields used
here are:

- ``spans``: the ground-truth windows of each sample, ``[[start, end], ...]`` in seconds (``[]`` for an
  irrelevant query);
- ``duration``: the video duration ``D`` in seconds (``None`` when unknown);
- ``relevant``: whether the query occurs in the video (default: it does when it has spans).

Unknown fields are accepted and ignored, so one call can feed every registered reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tempoforge.eval.parsing import ParseResult, parse_spans

__all__ = ["field_list", "gt_windows", "parse_all"]


def field_list(fields: dict[str, Any], name: str, n: int, default: Any = None) -> list[Any]:
    """``fields[name]`` checked to hold one value per completion (or ``[default] * n`` when absent)."""
    value = fields.get(name)
    if value is None:
        return [default] * n
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != n:
        got = len(value) if isinstance(value, Sequence) and not isinstance(value, str) else type(value).__name__
        raise ValueError(f"reward field {name!r} must be a list with one entry per completion ({n}), got {got}")
    return list(value)


def gt_windows(spans: Any) -> list[tuple[float, float]]:
    """One sample's ground truth as ``[(start, end), ...]`` (accepts pairs, ``Span`` records or ``[]``)."""
    if spans is None:
        return []
    out = []
    for s in spans:
        if hasattr(s, "start") and hasattr(s, "end"):
            out.append((float(s.start), float(s.end)))
        else:
            out.append((float(s[0]), float(s[1])))
    return out


def parse_all(completions: Sequence[str], fields: dict[str, Any] | None = None) -> list[ParseResult]:
    """:func:`tempoforge.eval.parsing.parse_spans` of every completion (the evaluation's own parser), with
    the sample's ``duration`` from ``fields`` when given (a span past the video is then no span)."""
    durations = field_list(fields or {}, "duration", len(completions), None)
    return [parse_spans(c, d) for c, d in zip(completions, durations, strict=True)]

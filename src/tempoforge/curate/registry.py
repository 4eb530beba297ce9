"""Curation steps, registered by name (DESIGN.md principles 2 and 4).

A step is a function ``step(record, ctx, cfg) -> CurationRecord`` configured by the ``CurateConfig``
dataclass (``tempoforge.curate.config``). To drop a record it raises ``Drop(code, detail)``; the pipeline
writes the record to ``rejected.jsonl`` with the step's name, the short ``code`` (counted in
``stats.json``) and the detail (which states the measured value and the threshold). Steps write only
under ``ctx.out_dir``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempoforge.curate.record import CurationRecord
from tempoforge.errors import UserError

__all__ = ["STEPS", "Drop", "StepContext", "StepSpec", "get_step", "register_step"]


class Drop(Exception):
    """Raised by a step to reject the record: ``code`` (e.g. ``"static"``) and a human-readable detail."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class StepContext:
    """What a step may use besides the record: the output folder, the cache and per-video scratch state.

    ``scratch`` holds in-memory results shared by the steps of one video within one process (the signal
    table); it is never serialised.
    """

    out_dir: Path
    cache_dir: Path
    scratch: dict[str, Any] = field(default_factory=dict)


StepFn = Callable[[CurationRecord, StepContext, Any], CurationRecord]


@dataclass(frozen=True)
class StepSpec:
    name: str
    fn: StepFn
    doc: str


STEPS: dict[str, StepSpec] = {}


def register_step(name: str) -> Callable[[StepFn], StepFn]:
    """Decorator: register ``fn`` as the curation step ``name``."""

    def deco(fn: StepFn) -> StepFn:
        if name in STEPS:
            raise ValueError(f"curation step {name!r} is registered twice")
        STEPS[name] = StepSpec(name, fn, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return deco


def get_step(name: str) -> StepSpec:
    """The registered step ``name``; a ``UserError`` listing the known steps otherwise.

    The built-in steps register when ``tempoforge.curate.steps`` is imported (``curate.pipeline`` imports it);
    the registry imports no step, so it stays below every module that registers one.
    """
    try:
        return STEPS[name]
    except KeyError:
        raise UserError(f"unknown curation step {name!r}; known steps: {sorted(STEPS)}") from None

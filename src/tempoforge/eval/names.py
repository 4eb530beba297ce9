"""Benchmark names: one set for ``predict``, ``eval score`` and the loaders' ``source`` fields.

``eval score --benchmark`` takes the name of a scorer (:data:`SCORERS`) or of a dataset or task that one of
them scores (:data:`ALIASES`): ``grounding`` (what ``predict`` wrote before, and its task name),
``tempoworld`` and ``timechat-tvg`` are single-moment grounding, scored like ``charades-sta``;
``activitynet-captions`` and ``youcook2`` are ``dense-captioning``. Every name ``predict --benchmark``
takes is one of these (``models.prompts.BENCHMARK_TASKS``, checked by a test), ``predict`` writes it into
each prediction's ``benchmark`` field, and ``eval score`` refuses a file whose ``benchmark`` field names
another scorer. Spelling is forgiving: ``Charades_STA`` is ``charades-sta``.
"""

from __future__ import annotations

from tempoforge.errors import UserError

__all__ = ["ALIASES", "NAMES", "SCORERS", "normalize_name", "scorer_for"]

SCORERS: tuple[str, ...] = ("charades-sta", "qvhighlights", "dense-captioning", "etbench", "mcq")
ALIASES: dict[str, str] = {
    "grounding": "charades-sta",
    "tempoworld": "charades-sta",
    "timechat-tvg": "charades-sta",
    "activitynet-captions": "dense-captioning",
    "youcook2": "dense-captioning",
}
NAMES: tuple[str, ...] = SCORERS + tuple(ALIASES)
"""Every name ``eval score --benchmark`` accepts."""


def normalize_name(name: str) -> str:
    """``Charades_STA`` -> ``charades-sta``."""
    return name.strip().lower().replace("_", "-")


def scorer_for(name: str) -> str:
    """The scorer of a benchmark name (a :class:`UserError` listing every known name otherwise)."""
    key = normalize_name(name)
    if key in SCORERS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    raise UserError(f"unknown benchmark {name!r}; choose from {', '.join(NAMES)}")

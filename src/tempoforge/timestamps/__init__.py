"""Timestamp strategies: how a model is told *when* each frame was taken, one file per strategy.

``registry.py`` defines :class:`TimestampStrategy` (name, help line, vision-block layout, marker text, burn-in)
and the registry; every other module in this package is one strategy, named after it, and defines
``STRATEGY``, registered when the package is imported: adding a strategy is adding a file here (and a test;
CONTRIBUTING.md).
The built-ins: ``mrope`` (the model's own time encoding), ``text`` (a ``<12.5 seconds>`` marker before every
temporal patch), ``overlay`` (TEMPURA: the time burned into every frame), ``frames-as-images`` (order only).

``--timestamps`` (predict, doctor, train tempo-r0), ``video.timestamps`` (training presets) and
``Prediction.timestamps`` all take these names; ``models/inputs.py`` turns a strategy into model inputs.
"""

from __future__ import annotations

from tempoforge.timestamps.registry import (
    LAYOUTS,
    REGISTRY,
    Layout,
    TimestampStrategy,
    check_strategy,
    get_strategy,
    group_marker_times,
    register,
    register_package,
    strategy_help,
    strategy_names,
    time_marker,
)

__all__ = [
    "LAYOUTS",
    "REGISTRY",
    "STRATEGIES",
    "Layout",
    "TimestampStrategy",
    "check_strategy",
    "get_strategy",
    "group_marker_times",
    "register",
    "register_package",
    "strategy_help",
    "strategy_names",
    "time_marker",
]


register_package(__name__)
STRATEGIES: tuple[str, ...] = strategy_names()  # the strategies of this package's files, in choice-list order

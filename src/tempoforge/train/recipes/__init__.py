"""Training recipes, one module per method (``tempoforge train METHOD``), and what they share.

A recipe module is a :class:`Recipe`: ``HELP``, ``DESCRIPTION``, ``add_arguments`` and ``main``, checked when
``tempoforge train`` lists the recipes. Its ending is not written out again: :func:`recipe_ending` makes
``add_arguments`` (``--config`` preset or YAML + a flag per field of the run's config dataclass) and ``main``
(load the config, run, print a JSON summary) from the config class, the run function and the summary.
Importing a recipe module must not import torch: ``train METHOD --help`` imports it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from tempoforge.cli_parts import MethodCommand

__all__ = ["Recipe", "RecipeEnding", "recipe_ending"]


@runtime_checkable
class Recipe(MethodCommand, Protocol):
    """A recipe module (``train/recipes/<method>.py``): ``HELP`` (one line), ``DESCRIPTION`` (its
    ``--help`` text), ``add_arguments(parser)`` and ``main(args) -> int``, as :func:`recipe_ending` makes them."""


class RecipeEnding(NamedTuple):
    """A recipe's ``add_arguments`` and ``main``."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]


def recipe_ending(config: type, preset_prefix: str, run: Callable[[Any, argparse.Namespace], dict[str, Any]],
                  summary: Sequence[str] | Callable[[dict[str, Any]], dict[str, Any]]) -> RecipeEnding:
    """The ``add_arguments`` and ``main`` of a recipe whose run is configured by dataclass ``config``.

    ``add_arguments``: ``--config`` (a YAML file or a shipped train preset whose name starts with
    ``preset_prefix``) and one flag per field of ``config``. ``main``: defaults < YAML < flags, checked before
    anything runs; then ``run(cfg, args)`` and prints ``summary`` of its result as JSON (the keys to keep, or a
    function of the result); exit code 0.
    """

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        from tempoforge.config import add_dataclass_arguments
        from tempoforge.presets import add_config_argument

        add_config_argument(parser, "train", config.__name__, prefix=preset_prefix)
        add_dataclass_arguments(parser, config)

    def main(args: argparse.Namespace) -> int:
        from tempoforge.config import load_config

        result = run(load_config(config, args.config, args), args)
        shown = summary(result) if callable(summary) else {k: result[k] for k in summary}
        print(json.dumps(shown, indent=2))
        return 0

    return RecipeEnding(add_arguments, main)

"""CLI: ``tempoforge train <method> --config FILE``; one recipe module per method (``train/recipes/``)."""

from __future__ import annotations

import argparse

from tempoforge.cli_parts import add_command, add_method_subcommands

__all__ = ["RECIPES", "register"]

# method -> its recipe module, a ``train.recipes.Recipe``
RECIPES: dict[str, str] = {
    "temple": "tempoforge.train.recipes.temple",
    "tempura": "tempoforge.train.recipes.tempura",
    "d2vlm": "tempoforge.train.recipes.d2vlm",
    "tempo-r0": "tempoforge.train.recipes.tempo_r0",
}


def _methods(train: argparse.ArgumentParser) -> None:
    from tempoforge.train.recipes import Recipe

    add_method_subcommands(train, "train_method", RECIPES, contract=Recipe)


def register(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "train", _methods, help="train a model with one of the methods (TEMPLE, TEMPURA, D2VLM, "
                "Tempo-R0)", description="Train with a method's recipe. Every recipe reads a YAML preset "
                "(--config) whose keys can be overridden by flags, runs on CPU with the tiny presets and under "
                "`accelerate launch` on GPUs.")

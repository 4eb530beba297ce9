"""CLI: ``tempoforge train <method> --config FILE``; one recipe module per method (``train/recipes/``)."""

from __future__ import annotations

import argparse

__all__ = ["RECIPES", "register"]

RECIPES: dict[str, str] = {
    "temple": "tempoforge.train.recipes.temple",
    "tempura": "tempoforge.train.recipes.tempura",
    "d2vlm": "tempoforge.train.recipes.d2vlm",
    "tempo-r0": "tempoforge.train.recipes.tempo_r0",
}


def register(sub: argparse._SubParsersAction) -> None:
    from tempoforge.cli import add_method_subcommands

    train = sub.add_parser("train", help="train a model with one of the methods (TEMPLE, TEMPURA, D2VLM, "
                           "Tempo-R0)", description="Train with a method's recipe. Every recipe reads a YAML "
                           "preset (--config) whose keys can be overridden by flags, runs on CPU with the tiny "
                           "presets and under `accelerate launch` on GPUs.")
    add_method_subcommands(train, "train_method", RECIPES)

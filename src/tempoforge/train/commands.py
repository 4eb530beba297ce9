"""CLI: ``tempoforge train <method> --config FILE``; one recipe module per method.

A recipe module (``train/recipes/<name>.py``) defines ``HELP`` (one line), ``DESCRIPTION``,
``add_arguments(parser)`` and ``main(args) -> int``. Recipes land one by one; a listed module that does not
exist yet is simply not offered.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

__all__ = ["RECIPES", "register"]

RECIPES: dict[str, str] = {
    "sft": "tempoforge.train.recipes.sft",
    "temple": "tempoforge.train.recipes.temple",
    "tempura": "tempoforge.train.recipes.tempura",
    "d2vlm": "tempoforge.train.recipes.d2vlm",
    "tempo-r0": "tempoforge.train.recipes.tempo_r0",
}


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model with one of the methods (SFT, TEMPLE, TEMPURA, D2VLM, "
                           "Tempo-R0)", description="Train with a method's recipe. Every recipe reads a YAML "
                           "preset (--config) whose keys can be overridden by flags, runs on CPU with the tiny "
                           "presets and under `accelerate launch` on GPUs.")
    tsub = train.add_subparsers(dest="train_method", metavar="METHOD")
    for name, module_name in RECIPES.items():
        if not _exists(module_name):
            continue
        module = importlib.import_module(module_name)
        p = tsub.add_parser(name, help=module.HELP, description=module.DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(func=module.main)
    train.set_defaults(func=lambda _args: train.print_help() or 2)

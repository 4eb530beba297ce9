"""CLI: ``tempoforge synth <method>``: build a method's training data; one module per method.

A synth module defines ``HELP``, ``DESCRIPTION``, ``add_arguments(parser)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

__all__ = ["SYNTHS", "register"]

SYNTHS: dict[str, str] = {
    "temple": "tempoforge.synth.temple",
    "tempura": "tempoforge.synth.tempura",
    "fpo": "tempoforge.synth.fpo",
    "refusal": "tempoforge.synth.irrelevant",
}


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def register(sub: argparse._SubParsersAction) -> None:
    synth = sub.add_parser("synth", help="synthesize training data (TEMPLE pairs, TEMPURA events, FPO negatives)",
                           description="Synthesize a method's training data from curated videos or TempoWorld. "
                           "Every command is resumable: rerun it to finish an interrupted job.")
    ssub = synth.add_subparsers(dest="synth_method", metavar="METHOD")
    for name, module_name in SYNTHS.items():
        if not _exists(module_name):
            continue
        module = importlib.import_module(module_name)
        p = ssub.add_parser(name, help=module.HELP, description=module.DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(func=module.main)
    synth.set_defaults(func=lambda _args: synth.print_help() or 2)

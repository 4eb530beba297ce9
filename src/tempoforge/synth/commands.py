"""CLI: ``tempoforge synth <method>``: build a method's training data; one module per method."""

from __future__ import annotations

import argparse

__all__ = ["SYNTHS", "register"]

SYNTHS: dict[str, str] = {
    "temple": "tempoforge.synth.temple",
    "tempura": "tempoforge.synth.tempura",
    "fpo": "tempoforge.synth.fpo",
    "refusal": "tempoforge.synth.irrelevant",
}


def register(sub: argparse._SubParsersAction) -> None:
    from tempoforge.cli import add_method_subcommands

    synth = sub.add_parser("synth", help="synthesize training data (TEMPLE pairs, TEMPURA events, FPO negatives)",
                           description="Synthesize a method's training data from curated videos or TempoWorld. "
                           "Every command is resumable: rerun it to finish an interrupted job.")
    add_method_subcommands(synth, "synth_method", SYNTHS)

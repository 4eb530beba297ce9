"""CLI: ``tempoforge synth <method>``: build a method's training data; one module per method."""

from __future__ import annotations

import argparse

from tempoforge.cli_parts import add_command, add_method_subcommands

__all__ = ["SYNTHS", "register"]

SYNTHS: dict[str, str] = {
    "temple": "tempoforge.synth.temple",
    "tempura": "tempoforge.synth.tempura",
    "fpo": "tempoforge.synth.fpo",
    "refusal": "tempoforge.synth.irrelevant",
}


def register(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "synth", lambda p: add_method_subcommands(p, "synth_method", SYNTHS),
                help="synthesize training data (TEMPLE pairs, TEMPURA events, FPO negatives)",
                description="Synthesize a method's training data from curated videos or TempoWorld. "
                "Every command is resumable: rerun it to finish an interrupted job.")

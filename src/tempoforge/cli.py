"""``tempoforge``: the command line. Thin by design: it parses arguments and calls one function.

Each stage owns its subcommands in a small module with ``register(subparsers)``; this file only lists
them. A command module imports nothing heavy at import time: its flags are added when its parser is first
used (``cli_parts.add_command``) and its handler imports the implementation, so ``tempoforge --help``
imports no numpy, and no ``--help`` imports torch (``tests/cli/test_cli_startup.py``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence

from tempoforge import __version__
from tempoforge.cli_parts import LazyParser, after_build, build_all, module_exists, subparsers_of

# (module, what it adds) -- one line per stage, in pipeline order
COMMAND_MODULES: list[str] = [
    "tempoforge.io.commands",  # video probe | sample
    "tempoforge.world.commands",  # world generate | show
    "tempoforge.curate.commands",  # curate
    "tempoforge.synth.commands",  # synth temple | tempura | fpo
    "tempoforge.train.commands",  # train ...
    "tempoforge.models.commands",  # predict, doctor, models tiny | init
    "tempoforge.plan.commands",  # plan
    "tempoforge.eval.commands",  # eval score | report
    "tempoforge.study.commands",  # study temple | ...
    "tempoforge.demo",  # demo
]

# Errors a user can fix: printed as one line, exit code 2.
_USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, PermissionError, OSError)


_GLOBAL_HELP = {"--debug": "show full tracebacks on errors", "--quiet": "less output (no progress bars)"}


def _accept_global_flags(parser: argparse.ArgumentParser) -> None:
    """Let ``-q``/``--quiet`` and ``--debug`` also follow a (sub)command: ``tempoforge predict ... -q``.

    Added to every subparser (once its own flags are built) with a ``SUPPRESS`` default, so a flag given
    before the command is not reset by the subcommand's parse, and one given after it sets the same attribute.
    """
    for sub in subparsers_of(parser):
        after_build(sub, _add_global_flags)


def _add_global_flags(sub: argparse.ArgumentParser) -> None:
    taken = {s for a in sub._actions for s in a.option_strings}
    if "--debug" not in taken:
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_GLOBAL_HELP["--debug"])
    if not taken & {"-q", "--quiet"}:
        sub.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                         help=_GLOBAL_HELP["--quiet"])
    _accept_global_flags(sub)


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """The whole ``tempoforge`` parser; ``lazy``: each command's flags are added when it is used (``main``)."""
    parser = LazyParser(
        prog="tempoforge",
        description="tempoforge makes video LLMs understand time: curate videos, synthesize temporal "
        "training data, train, predict and score against the official benchmark conventions.",
    )
    parser.add_argument("--version", action="version", version=f"tempoforge {__version__}")
    parser.add_argument("--debug", action="store_true", help=_GLOBAL_HELP["--debug"] + " (also after the command)")
    parser.add_argument("-q", "--quiet", action="store_true", help=_GLOBAL_HELP["--quiet"] + " (also after the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        if module_exists(name):  # stages land one by one; an existing module's import errors propagate
            importlib.import_module(name).register(sub)
    _accept_global_flags(parser)
    return parser if lazy else build_all(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(lazy=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not args.debug:
        warnings.simplefilter("ignore", category=FutureWarning)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("tempoforge: interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"tempoforge: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

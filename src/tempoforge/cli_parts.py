"""What the command modules share to build their part of ``tempoforge``'s parser, cheaply.

A command's flags often come from a config dataclass whose module pulls in numpy, pydantic or yaml; a
method's from its recipe module. Building all of them for ``tempoforge --help`` would import half the
package. So a command is added with :func:`add_command`, whose ``build(parser)`` adds the flags only when
that parser is used (parsed, or its help printed): ``tempoforge train temple --help`` imports the TEMPLE
recipe and nothing of the other commands. ``build_all`` completes every parser (tests, documentation).

Imports nothing of tempoforge, so every command module can use it (``cli.py`` loads the command modules).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["LazyParser", "MethodCommand", "add_command", "add_method_subcommands", "after_build", "build_all",
           "help_of", "module_exists", "protocol_members", "subparsers_of"]

Build = Callable[[argparse.ArgumentParser], None]


class LazyParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that runs its pending ``build`` steps the first time it parses or prints help.

    Subparsers of a ``LazyParser`` are ``LazyParser``s too (argparse makes them of their parent's class).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[Build] = []
        self._building = False

    def defer(self, build: Build) -> None:
        """Run ``build(self)`` before this parser is first used (after the steps deferred before it)."""
        self._pending.append(build)

    @property
    def pending(self) -> bool:
        """Whether build steps are still waiting."""
        return bool(self._pending)

    def build(self) -> None:
        """Run the pending build steps, in order (each may defer more; those run too)."""
        if self._building:
            return
        self._building = True
        try:
            while self._pending:
                self._pending.pop(0)(self)
        finally:
            self._building = False

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        self.build()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.build()
        return super().format_usage()

    def format_help(self) -> str:
        self.build()
        return super().format_help()


def after_build(parser: argparse.ArgumentParser, step: Build) -> None:
    """``step(parser)`` once ``parser`` has its flags: now, or after its pending build steps."""
    if isinstance(parser, LazyParser) and parser.pending:
        parser.defer(step)
    else:
        step(parser)


def subparsers_of(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parser's direct subparsers (each once, though it may have aliases)."""
    found: dict[int, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update({id(p): p for p in action.choices.values()})
    return list(found.values())


def build_all(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Complete ``parser`` and every parser below it (what a non-lazy construction would have built)."""
    if isinstance(parser, LazyParser):
        parser.build()
    for sub in subparsers_of(parser):
        build_all(sub)
    return parser


def add_command(sub: argparse._SubParsersAction, name: str, build: Build, **kwargs: Any) -> argparse.ArgumentParser:
    """Subcommand ``name`` (``kwargs``: ``help``, ``description``, ... as for ``add_parser``) whose flags
    ``build(parser)`` adds when it is first used; at once when the parser is not a :class:`LazyParser`."""
    parser: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    if isinstance(parser, LazyParser):
        parser.defer(build)
    else:
        build(parser)
    return parser


def module_exists(name: str) -> bool:
    """Whether module ``name`` can be imported (without importing it; its parent packages are)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package does not exist yet
        return False


def help_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A handler that prints ``parser``'s help and exits 2 (a group command given without a subcommand)."""

    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


@runtime_checkable
class MethodCommand(Protocol):
    """A method module behind ``tempoforge synth METHOD`` / ``tempoforge train METHOD``.

    Importing it must not import torch or transformers (``train METHOD --help`` imports it): heavy imports
    go inside ``main`` and the functions it calls.
    """

    HELP: str  # one line, listed by ``tempoforge synth --help`` / ``train --help``
    DESCRIPTION: str  # the text of ``METHOD --help``

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the method's flags to ``parser``."""

    def main(self, args: argparse.Namespace) -> int:
        """Run the method on the parsed ``args``; the exit code."""


def protocol_members(contract: type) -> list[str]:
    """The names a module must define to satisfy Protocol ``contract`` (its own and its protocol bases')."""
    names: set[str] = set()
    for base in contract.__mro__:
        if base is not Protocol and getattr(base, "_is_protocol", False):
            names |= set(getattr(base, "__annotations__", {}))
            names |= {n for n, v in vars(base).items() if not n.startswith("_") and callable(v)}
    return sorted(names)


def add_method_subcommands(parser: argparse.ArgumentParser, dest: str, modules: dict[str, str],
                           contract: type = MethodCommand) -> None:
    """Subcommands of ``parser``, one per method module that exists (``synth`` and ``train`` use this).

    Each module must satisfy ``contract`` (:class:`MethodCommand` or a protocol extending it); a module that
    does not is a ``TypeError`` naming what it lacks. A method's flags are added when its parser is first used.
    """
    sub = parser.add_subparsers(dest=dest, metavar="METHOD")
    for name, module_name in modules.items():
        if not module_exists(module_name):
            continue
        module = importlib.import_module(module_name)
        if not isinstance(module, contract):
            raise TypeError(f"{module_name} is not a {contract.__name__}: it lacks "
                            f"{', '.join(n for n in protocol_members(contract) if not hasattr(module, n))}")
        p = add_command(sub, name, module.add_arguments, help=module.HELP, description=module.DESCRIPTION,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=module.main)
    parser.set_defaults(func=help_of(parser))

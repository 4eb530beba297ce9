"""Presets by name, and help texts that cite only what a user has.

The YAML presets live in the source tree's ``configs/<kind>/`` (``curate``, ``train``, ``models``). A
``--config`` flag takes a YAML file or a preset's name (``--config temple``), found through this module
wherever tempoforge runs from; its ``--help`` lists the preset names that are actually there (none for an
installation without them, and then it says so by listing none).

:func:`for_users` turns a module docstring into CLI help: references to the developer documents
(``METHODS.md``, ``DESIGN.md``, ``METRICS.md``, not shipped) are dropped, and ``--config
configs/<kind>/<name>.yaml`` becomes ``--config <name>``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["add_config_argument", "for_users", "preset_names", "presets_dir", "resolve_config"]


def presets_dir(kind: str) -> Path | None:
    """The folder of ``kind``'s presets: inside the package when shipped there, else the source checkout's."""
    here = Path(__file__).resolve().parent
    for root in (here / "configs", here.parents[1] / "configs"):
        if (root / kind).is_dir():
            return root / kind
    return None


def preset_names(kind: str, prefix: str = "") -> list[str]:
    """Names of the ``kind`` presets present on this machine (file names without ``.yaml``) that start
    with ``prefix`` (``temple_`` for ``train temple``)."""
    folder = presets_dir(kind)
    return sorted(p.stem for p in folder.glob(f"{prefix}*.yaml")) if folder else []


def resolve_config(value: str | Path, kind: str, prefix: str = "") -> Path:
    """``value`` as an existing YAML file, or the preset of that name; a ``ValueError`` saying which exist."""
    path = Path(value)
    if path.is_file():
        return path
    names = preset_names(kind, prefix)
    if str(value) in names:
        folder = presets_dir(kind)
        assert folder is not None
        return folder / f"{value}.yaml"
    known = f"presets: {', '.join(names)}" if names else "no presets are installed"
    raise ValueError(f"{value}: no such file, and not the name of a preset ({known})")


def add_config_argument(parser: argparse.ArgumentParser, kind: str, fields_of: str, prefix: str = "") -> None:
    """``--config PRESET_OR_FILE`` whose help lists the ``kind`` presets present (those starting with
    ``prefix``); the value becomes a ``Path``."""
    names = preset_names(kind, prefix)
    presets = f", or the name of a preset: {', '.join(names)}" if names else ""

    def parse(value: str) -> Path:
        try:
            return resolve_config(value, kind, prefix)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "config"  # argparse names the type in its errors
    parser.add_argument("--config", type=parse, default=None, metavar="PRESET_OR_FILE",
                        help=f"a YAML file of {fields_of} fields{presets} (flags given too override it)")


_DOC_REFS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?m)^(?:METHODS|DESIGN|METRICS)\.md [\d.\-]+\.[ \t]*"), ""),  # a sentence that only cites
    (re.compile(r"\s*\((?:see\s+)?(?:METHODS|DESIGN|METRICS)\.md[^)]*\)"), ""),  # "(METHODS.md 3)"
    (re.compile(r",\s*(?:METHODS|DESIGN|METRICS)\.md(?: [\w.\-]+)*?(?=\))"), ""),  # "(Tempo-R0, METHODS.md 4)"
    (re.compile(r"\bMETHODS(?:\.md)? [\d.]+'s\b"), "the paper's"),
    (re.compile(r"\bas METHODS(?:\.md)? [\d.]+ says\b"), "as the paper says"),
    (re.compile(r"configs/\w+/([\w.\-]+)\.yaml"), lambda m: m.group(1)),
]


def for_users(text: str) -> str:
    """CLI help from a developer docstring: no citations of unshipped documents, presets by name."""
    for pattern, repl in _DOC_REFS:
        text = pattern.sub(repl, text)
    return text

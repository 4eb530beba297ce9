"""Configs are dataclasses; YAML files are presets; CLI flags are generated from the dataclasses.

DESIGN.md principle 6. A stage declares its options once, as a dataclass with typed fields and a
``help`` string in each field's metadata::

    @dataclass
    class SampleConfig:
        fps: float = field(default=1.0, metadata={"help": "frames per second to sample"})

``add_dataclass_arguments(parser, SampleConfig)`` adds ``--fps``; ``load_config(SampleConfig, path,
args)`` merges defaults < YAML preset < command-line flags and validates field names, so a typo in a YAML
file is an error naming the key and the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import yaml

__all__ = ["ConfigError", "add_dataclass_arguments", "config_to_dict", "load_config", "read_yaml"]

C = TypeVar("C")


class ConfigError(ValueError):
    """A config file or option that does not fit its dataclass."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Add one ``--flag`` per dataclass field (default ``None`` so unset flags do not override YAML)."""
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name.startswith("_"):
            continue
        tp, _ = _unwrap_optional(hints[f.name])
        help_text = f.metadata.get("help", "")
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        )
        help_text = f"{help_text} (default: {default})" if help_text else f"(default: {default})"
        origin = get_origin(tp)
        if tp is bool:
            parser.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        elif origin in (list, tuple):
            inner = get_args(tp)[0] if get_args(tp) else str
            parser.add_argument(_flag(f.name), dest=f.name, nargs="+", type=inner, default=None, help=help_text)
        elif origin is typing.Literal:
            choices = list(get_args(tp))
            parser.add_argument(_flag(f.name), dest=f.name, choices=choices, default=None, help=help_text)
        elif tp in (int, float, str):
            parser.add_argument(_flag(f.name), dest=f.name, type=tp, default=None, help=help_text)
        elif tp is Path:
            parser.add_argument(_flag(f.name), dest=f.name, type=Path, default=None, help=help_text)
        # nested dataclasses and dicts are YAML-only


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with an error naming the file when it is not one."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level")
    return data


def _build(cls: type[C], values: dict[str, Any], where: str) -> C:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown} for {cls.__name__}; known: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        tp, _ = _unwrap_optional(hints[name])
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = _build(tp, value, f"{where}.{name}")  # type: ignore[arg-type]
        elif tp is Path and isinstance(value, str):
            value = Path(value)
        elif get_origin(tp) is tuple and isinstance(value, list):
            value = tuple(value)
        elif tp in (int, float) and isinstance(value, str):
            try:
                value = tp(value)
            except ValueError:
                raise ConfigError(f"{where}.{name}: expected a number, got {value!r}") from None
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(cls: type[C], path: str | Path | None = None, args: argparse.Namespace | None = None,
                overrides: dict[str, Any] | None = None) -> C:
    """Defaults < YAML file ``path`` < ``overrides`` < flags set in ``args`` (those not ``None``)."""
    values: dict[str, Any] = {}
    where = cls.__name__
    if path is not None:
        values.update(read_yaml(path))
        where = str(path)
    if overrides:
        values.update(overrides)
    if args is not None:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for k, v in vars(args).items():
            if k in names and v is not None:
                values[k] = v
    return _build(cls, values, where)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as a plain YAML/JSON-ready dict (paths as strings, tuples as lists)."""
    def conv(x: Any) -> Any:
        if isinstance(x, Path):
            return str(x)
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        return x
    return {k: conv(v) for k, v in dataclasses.asdict(config).items()}

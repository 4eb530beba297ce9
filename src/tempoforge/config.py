"""Configs are dataclasses; YAML files are presets; CLI flags are generated from the dataclasses.

DESIGN.md principle 6. A stage declares its options once, as a dataclass with typed fields and a
``help`` string in each field's metadata::

    @dataclass
    class SampleConfig:
        fps: float = field(default=1.0, metadata={"help": "frames per second to sample"})

``add_dataclass_arguments(parser, SampleConfig)`` adds ``--fps``; ``load_config(SampleConfig, path,
args)`` merges defaults < YAML preset < command-line flags and validates field names, so a typo in a YAML
file is an error naming the key and the file.

Values are checked up front, before any model is built, with the same words on the command line and in
YAML: the type (``expected an integer, got 1.5``; a list for a number; ``true``/``false`` for a flag), a
fixed set of values (``metadata={"choices": (...)}`` or a ``Literal`` type: ``invalid choice: 'x' (choose
from 'a', 'b')``, also listed in ``--help``) and a range (``metadata={"min": 1}`` / ``{"gt": 0}``:
``must be >= 1, got 0``). ``--batch-size 0`` fails as ``argument --batch-size: must be >= 1, got 0``,
``batch_size: 0`` in ``p.yaml`` as ``p.yaml: batch_size: must be >= 1, got 0``.

A renamed field keeps its old name for files and code written before (``@renamed_fields(old="new")``): the
old key in YAML, the old keyword and the old attribute still work, with a warning naming the new one.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
import typing
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import yaml

__all__ = ["ConfigError", "add_dataclass_arguments", "check_value", "config_to_dict", "load_config", "read_yaml",
           "renamed_fields"]

C = TypeVar("C")


class ConfigError(ValueError):
    """A config file or option that does not fit its dataclass."""


_RENAMED_FIELDS: dict[type, dict[str, str]] = {}  # config class -> {old field name: new name}


def renamed_fields(**old_to_new: str) -> Callable[[type[C]], type[C]]:
    """Class decorator (above ``@dataclass``): field ``new`` was called ``old`` before.

    ``Cls(old=...)`` and ``obj.old`` keep working with a ``DeprecationWarning``; ``load_config`` reads the old
    YAML key with a ``UserWarning`` naming the file (e.g. a preset or a checkpoint's settings written before).
    """

    def deco(cls: type[C]) -> type[C]:
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{cls.__name__}: {old} is the old name of {new}; give only {new}")
                    warnings.warn(f"{cls.__name__}({old}=...) is deprecated; use {new}=", DeprecationWarning,
                                  stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            init(self, *args, **kwargs)

        def alias(old: str, new: str) -> property:
            def get(self: Any) -> Any:
                warnings.warn(f"{cls.__name__}.{old} is deprecated; use .{new}", DeprecationWarning, stacklevel=2)
                return getattr(self, new)
            return property(get, doc=f"Deprecated name of ``{new}``.")

        cls.__init__ = __init__  # type: ignore[method-assign]
        for old, new in old_to_new.items():
            setattr(cls, old, alias(old, new))
        _RENAMED_FIELDS[cls] = dict(old_to_new)
        return cls

    return deco


def _renamed(cls: type, values: dict[str, Any], where: str, prefix: str) -> dict[str, Any]:
    """``values`` with the old names of renamed fields (``renamed_fields``) replaced by the new ones."""
    renamed = _RENAMED_FIELDS.get(cls, {})
    if not renamed.keys() & values.keys():
        return values
    out = dict(values)
    for old, new in renamed.items():
        if old in out:
            if new in out:
                raise ConfigError(f"{where}: {prefix}{old} is the old name of {prefix}{new}; give only {prefix}{new}")
            warnings.warn(f"{where}: {prefix}{old} is deprecated; write {prefix}{new}", UserWarning, stacklevel=3)
            out[new] = out.pop(old)
    return out


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


_KIND = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _range_problem(value: Any, meta: Any) -> str | None:
    if "min" in meta and value < meta["min"]:
        return f"must be >= {meta['min']}, got {value!r}"
    if "gt" in meta and not value > meta["gt"]:
        return f"must be > {meta['gt']}, got {value!r}"
    return None


def _choices(tp: Any, meta: Any) -> tuple[Any, ...] | None:
    if get_origin(tp) is typing.Literal:
        return tuple(get_args(tp))
    return tuple(meta["choices"]) if "choices" in meta else None


def check_value(value: Any, tp: Any, meta: Any = types.MappingProxyType({})) -> Any:
    """``value`` converted to the field type ``tp`` (an int for a float field, a tuple for a tuple...), or a
    ``ValueError`` whose message reads the same for a flag and a YAML key (see the module docstring)."""
    tp, optional = _unwrap_optional(tp)
    if value is None and optional:
        return None
    origin = get_origin(tp)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
    elif tp is int:
        if isinstance(value, str):
            value = _parse_number(value, int)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
    elif tp is float:
        if isinstance(value, str):
            value = _parse_number(value, float)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        value = float(value)
    elif tp is str or origin is typing.Literal:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
    elif tp is Path:
        if not isinstance(value, (str, Path)):
            raise ValueError(f"expected a path, got {value!r}")
        value = Path(value)
    elif origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {value!r}")
        inner = get_args(tp)[0] if get_args(tp) else Any
        items = [v if inner is Any else check_value(v, inner, meta) for v in value]
        return tuple(items) if origin is tuple else items
    elif (origin is dict or tp is dict) and not isinstance(value, dict):
        raise ValueError(f"expected a mapping, got {value!r}")
    choices = _choices(tp, meta)
    if choices is not None and value not in choices:
        raise ValueError(f"invalid choice: {value!r} (choose from {', '.join(repr(c) for c in choices)})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problem = _range_problem(value, meta)
        if problem:
            raise ValueError(problem)
    return value


def _parse_number(text: str, tp: type) -> Any:
    try:
        return tp(text)
    except ValueError:
        raise ValueError(f"expected {_KIND[tp]}, got {text!r}") from None


def _cli_type(tp: Any, meta: Any) -> Any:
    """An argparse ``type`` that parses and checks one value exactly as :func:`check_value` does."""

    def parse(text: str) -> Any:
        try:
            return check_value(text, tp, meta)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = getattr(tp, "__name__", "value")
    return parse


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Add one ``--flag`` per dataclass field (default ``None`` so unset flags do not override YAML).

    A field with a fixed set of values (``Literal`` or ``metadata["choices"]``) lists them in ``--help``;
    numbers are parsed and range-checked by :func:`check_value`."""
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
            parser.add_argument(_flag(f.name), dest=f.name, nargs="+", type=inner, default=None, help=help_text,
                                choices=_choices(inner, f.metadata))
        elif origin is typing.Literal or (tp is str and "choices" in f.metadata):
            choices = list(_choices(tp, f.metadata) or ())
            parser.add_argument(_flag(f.name), dest=f.name, choices=choices, default=None, help=help_text)
        elif tp in (int, float):
            parser.add_argument(_flag(f.name), dest=f.name, type=_cli_type(tp, f.metadata), default=None,
                                help=help_text)
        elif tp is str:
            parser.add_argument(_flag(f.name), dest=f.name, type=str, default=None, help=help_text)
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


def _build(cls: type[C], values: dict[str, Any], where: str, prefix: str = "") -> C:
    """``cls(**values)`` with every value checked (:func:`check_value`); errors name ``where`` and the key."""
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = _renamed(cls, values, where, prefix)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {[prefix + u for u in unknown]} for {cls.__name__}; "
                          f"known: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        tp, _ = _unwrap_optional(hints[name])
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if not isinstance(value, (dict, tp)):
                raise ConfigError(f"{where}: {prefix}{name}: expected a mapping of {tp.__name__} options, "
                                  f"got {value!r}")
            if isinstance(value, dict):
                value = _build(tp, value, where, f"{prefix}{name}.")
        else:
            try:
                value = check_value(value, hints[name], fields[name].metadata)
            except ValueError as exc:
                raise ConfigError(f"{where}: {prefix}{name}: {exc}") from None
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        section = f"{prefix[:-1]}: " if prefix else ""  # "dpo.video: " for a nested section
        raise ConfigError(f"{where}: {section}{exc}") from None


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

"""Packages whose public names are imported on first use (PEP 562), so importing one of their modules is cheap.

``tempoforge.io`` exports ``sample`` and ``probe``, but ``tempoforge.io.commands`` (the ``video`` command)
must not pay for PyAV, numpy and pydantic while ``tempoforge --help`` builds its parser. A package's
``__init__`` therefore names what it exports and where it lives, and :func:`lazy_exports` returns its module
``__getattr__``; the names are also imported under ``TYPE_CHECKING`` for the type checker.

A name can be both a function and a submodule (``tempoforge.io.sample``): importing a submodule binds it on
its package, which would replace the function. The package's module class is switched to one that keeps the
exported name instead, as an eager ``__init__`` that imported the function last would have.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


class _LazyPackage(types.ModuleType):
    """A package module whose exported names win over the same-named submodules bound by the import system."""

    _lazy_exports: Mapping[str, str]

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if isinstance(value, types.ModuleType) and exports.get(name) == name and value.__name__.endswith(f".{name}"):
            return  # submodule ``name`` was imported; ``package.name`` stays the function it exports
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The PEP 562 ``__getattr__`` of ``package``: ``exports`` maps each public name to the submodule (relative
    name) that defines it; the submodule is imported the first time the name is looked up."""
    module = sys.modules[package]
    module.__class__ = _LazyPackage
    module.__dict__["_lazy_exports"] = dict(exports)

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        module.__dict__[name] = value
        return value

    return __getattr__

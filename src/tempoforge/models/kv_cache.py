"""Passing a KV cache to a Qwen-VL forward, on every supported transformers version.

transformers 5.25 renamed the forward argument that carries the KV cache from ``past_key_values`` to
``cache`` (``past_key_values`` stays as a deprecated alias that warns, until its removal in 5.40), and the
model output field from ``past_key_values`` to ``cache``. Our callers (the shared-prefix log-probs, the
evidence-token model, evidence generation) continue a sequence from a cache, and the vision keep-alive hook
must recognise such a continuation whichever name the caller used. These three helpers are the only place
that knows the names:

- :func:`cache_kwargs` ``(model, cache)`` -> the keyword arguments that pass ``cache`` to ``model``'s forward;
- :func:`output_cache` ``(outputs)`` -> the cache a forward returned;
- :func:`given_cache` ``(kwargs)`` -> the cache a forward was called with (either name), for hooks.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

__all__ = ["CACHE_ARGUMENTS", "cache_argument", "cache_kwargs", "given_cache", "output_cache"]

# newest first: the name transformers >= 5.25 uses, then the deprecated alias
CACHE_ARGUMENTS = ("cache", "past_key_values")


_BY_CLASS: dict[type, str | None] = {}


def _cache_argument_of(cls: type) -> str | None:
    if cls not in _BY_CLASS:
        params = inspect.signature(getattr(cls, "forward")).parameters  # noqa: B009  (a module class)
        _BY_CLASS[cls] = next((name for name in CACHE_ARGUMENTS if name in params), None)
    return _BY_CLASS[cls]


def cache_argument(model: torch.nn.Module) -> str:
    """The name under which ``model``'s forward takes the KV cache (``cache`` or ``past_key_values``).

    Wrappers (PEFT, DDP, our evidence-token model) forward ``**kwargs`` untouched, so the name is read from
    the outermost Hugging Face model inside ``model``.
    """
    from transformers import PreTrainedModel

    for m in model.modules():
        if isinstance(m, PreTrainedModel):
            name = _cache_argument_of(type(m))
            if name is not None:
                return name
    return "past_key_values"


def cache_kwargs(model: torch.nn.Module, cache: Any) -> dict[str, Any]:
    """``{name: cache}`` for ``model(**inputs, **cache_kwargs(model, cache))``."""
    return {cache_argument(model): cache}


def output_cache(outputs: Any) -> Any:
    """The KV cache in a forward's outputs (``outputs.cache`` on 5.25+, ``outputs.past_key_values`` before)."""
    for name in CACHE_ARGUMENTS:
        value = getattr(outputs, name, None)
        if value is not None:
            return value
    return None


def given_cache(kwargs: dict[str, Any]) -> Any:
    """The KV cache a forward was called with, under either name (``None`` when it starts a sequence)."""
    for name in CACHE_ARGUMENTS:
        value = kwargs.get(name)
        if value is not None:
            return value
    return None

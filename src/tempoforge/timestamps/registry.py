"""The timestamp-strategy registry: one entry per way of telling a model *when* each frame was taken.

A :class:`TimestampStrategy` says everything that differs between strategies, as data: its name (the value of
``--timestamps``, ``video.timestamps`` and ``Prediction.timestamps``), its one-line help (``--help`` is
generated from it), how the frames are laid out as vision blocks (:data:`LAYOUTS`), the text written before
each block (``marker``, from the block's time) and whether the time is drawn into the pixels (``burn_in``).
``models/inputs.py`` builds model inputs from these fields and ``plan/shapes.py`` counts their tokens; no
code anywhere branches on a strategy's name.

Every strategy uses the **actual** times of the sampled frames (``Frames.times``), never a nominal fps
(DESIGN.md principle 3). Standard library only: records, configs and ``--help`` read the names without
importing numpy or torch.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from tempoforge.errors import UserError

__all__ = [
    "LAYOUTS",
    "REGISTRY",
    "Layout",
    "TimestampStrategy",
    "check_strategy",
    "get_strategy",
    "group_marker_times",
    "register",
    "register_package",
    "strategy_help",
    "strategy_names",
    "time_marker",
]

Layout = Literal["video", "patches", "images"]
LAYOUTS: dict[str, str] = {
    "video": "the video as one vision block whose M-RoPE temporal ids come from the frame times (Qwen2.5-VL: "
             "floor(t * tokens_per_second); Qwen2-VL: the patch index). A family whose own time encoding is "
             "text (Qwen3-VL) has no such block: there it is laid out as `patches` with `time_marker`",
    "patches": "one vision block per temporal patch (temporal_patch_size frames); its time is the mean of the "
               "patch's first and last frame (Qwen3-VL's convention)",
    "images": "every frame its own image block (its own temporal position; no 2-frame temporal merge)",
}
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def time_marker(seconds: float) -> str:
    """``12.5 -> "<12.5 seconds>"``: Qwen3-VL's per-patch timestamp text (one decimal)."""
    return f"<{seconds:.1f} seconds>"


@dataclass(frozen=True)
class TimestampStrategy:
    """How a model is told when each frame was taken (one file per strategy in this package).

    ``name``: lower-case words joined by ``-``. ``help``: one line for ``--help``. ``layout``: a key of
    :data:`LAYOUTS`. ``marker``: the text written before every vision block from the block's time (``None``:
    nothing). ``burn_in``: the frame's time drawn into its top-left corner before resizing (TEMPURA's
    overlay; masked frames stay black). ``order``: position in choice lists (the built-ins are 0-3; ties
    sort by name).
    """

    name: str
    help: str
    layout: Layout
    marker: Callable[[float], str] | None = None
    burn_in: bool = False
    order: int = 100

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"timestamp strategy name {self.name!r}: lower-case words joined by '-'")
        if self.layout not in LAYOUTS:
            raise ValueError(f"timestamp strategy {self.name!r}: unknown layout {self.layout!r}; "
                             f"choose one of {', '.join(LAYOUTS)}")
        if not self.help or "\n" in self.help:
            raise ValueError(f"timestamp strategy {self.name!r}: help must be one non-empty line")
        if self.layout == "video" and self.marker is not None:
            raise ValueError(f"timestamp strategy {self.name!r}: the `video` layout is one block and takes no marker")

    def for_family(self, native_text_timestamps: bool) -> TimestampStrategy:
        """The strategy as laid out on a family: ``video`` becomes ``patches`` with :func:`time_marker` where
        the family's native time encoding is text (``Family.native_text_timestamps``, Qwen3-VL)."""
        if self.layout == "video" and native_text_timestamps:
            return replace(self, layout="patches", marker=time_marker)
        return self


REGISTRY: dict[str, TimestampStrategy] = {}


def register(strategy: TimestampStrategy) -> TimestampStrategy:
    """Add ``strategy`` to the registry (a ``ValueError`` when its name is taken)."""
    if strategy.name in REGISTRY:
        raise ValueError(f"timestamp strategy {strategy.name!r} is registered twice")
    REGISTRY[strategy.name] = strategy
    return strategy


def register_package(package: str) -> list[TimestampStrategy]:
    """Register the ``STRATEGY`` of every module of ``package`` (except ``registry``): one strategy per file,
    the file named after the strategy (``frames-as-images`` in ``frames_as_images.py``)."""
    out = []
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if module.name == "registry":
            continue
        strategy = getattr(importlib.import_module(f"{package}.{module.name}"), "STRATEGY", None)
        if not isinstance(strategy, TimestampStrategy):
            raise TypeError(f"{package}.{module.name} must define STRATEGY = TimestampStrategy(...)")
        if strategy.name.replace("-", "_") != module.name:
            raise TypeError(f"{package}.{module.name} defines the strategy {strategy.name!r}; name the file "
                            f"{strategy.name.replace('-', '_')}.py")
        out.append(register(strategy))
    return out


def strategy_names() -> tuple[str, ...]:
    """The registered names, in choice-list order."""
    return tuple(s.name for s in sorted(REGISTRY.values(), key=lambda s: (s.order, s.name)))


def get_strategy(name: str) -> TimestampStrategy:
    """The strategy called ``name``; a :class:`UserError` listing the valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserError(f"unknown timestamp strategy {name!r}; choose one of {', '.join(strategy_names())}") from None


def check_strategy(name: str) -> str:
    """``name`` when it is a registered strategy; a :class:`UserError` listing the valid ones otherwise."""
    return get_strategy(name).name


def strategy_help() -> str:
    """The help of a ``--timestamps`` option, from every registered strategy's help line."""
    return "how the model is told when each frame was taken: " + "; ".join(
        f"{name} = {REGISTRY[name].help}" for name in strategy_names())


def group_marker_times(times: Iterable[float], temporal_patch_size: int) -> list[float]:
    """Mean time of the first and last frame of each temporal patch (Qwen3-VL's ``_calculate_timestamps``).

    A last incomplete patch is padded with its last frame, as the tensorizer pads the frames.
    """
    t = [float(x) for x in times]
    out = []
    for g in range(0, len(t), temporal_patch_size):
        chunk = t[g:g + temporal_patch_size]
        chunk = chunk + [chunk[-1]] * (temporal_patch_size - len(chunk))
        out.append((chunk[0] + chunk[-1]) / 2)
    return out

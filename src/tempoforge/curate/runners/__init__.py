"""Runners call the pipeline's ``work`` (one video -> a JSON-ready result) over many videos: local processes or
Ray Data. A runner is ``run(work, items, workers) -> Iterator[result]`` and knows nothing of the pipeline:
``curate`` passes the work in (``functools.partial(process_video, config=..., out_dir=...)``), so it must pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Runner", "Work"]

Work = Callable[[dict[str, str]], dict[str, Any]]  # one ``{id, path}`` item -> its JSON-ready result
Runner = Callable[[Work, list[dict[str, str]], int], Iterator[dict[str, Any]]]  # (work, items, workers)

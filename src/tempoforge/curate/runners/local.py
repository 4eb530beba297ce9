"""The local runner: ``work`` on every item in a pool of ``workers`` processes, results yielded as they finish.

``work`` is what the pipeline passes in; it must pickle (a module-level function and picklable arguments),
as the workers are spawned processes.

Each worker dies with the driver, even after ``kill -9`` of the driver (``lifeline.die_with``: a Linux
parent-death signal plus a watchdog thread), so no orphaned decoder keeps running.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from tempoforge.curate.runners import Work
from tempoforge.curate.runners.lifeline import Lifeline, die_with, lifeline

__all__ = ["run_local"]


def _init_worker(decoders: int, driver: Lifeline) -> None:
    # first of all: never outlive the driver
    die_with(driver, direct_child=True)
    # one BLAS/torch/OpenCV thread per process and its share of the cores for decoding: the pool provides
    # the parallelism
    import os

    from tempoforge.io.convert import DECODE_WORKERS_ENV

    os.environ[DECODE_WORKERS_ENV] = str(decoders)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    import cv2

    cv2.setNumThreads(1)


def run_local(work: Work, items: list[dict[str, str]], workers: int) -> Iterator[dict[str, Any]]:
    """``work(item)`` for every item in a process pool; at most ``2 * workers`` videos in flight."""
    if workers <= 1:
        for item in items:
            yield work(item)
        return
    ctx = mp.get_context("spawn")  # no fork of a process holding decoder / torch threads
    from tempoforge.io.convert import decode_workers

    share = max(1, decode_workers() // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(share, lifeline())) as pool:
        pending: set[Future[dict[str, Any]]] = set()
        it = iter(items)
        for item in it:
            pending.add(pool.submit(work, item))
            if len(pending) >= 2 * workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(pool.submit(work, nxt))

"""The Ray Data runner: the pipeline's ``work`` (``process_video`` with its config) as a ``map`` over a dataset
of ``{id, path}`` rows. ``work`` is shipped to the workers with Ray's serializer, so it must pickle.

Optional extra: ``pip install 'tempoforge[ray]'``. Without a running cluster a local Ray is started with
``num_cpus=workers``. The driver consumes results as a stream and does all writing (``pipeline.curate``),
so resuming and crash-safety are the same as with the local runner. A worker on the driver's machine exits
when the driver dies, even after ``kill -9`` (``lifeline.die_with``: a watchdog thread per worker process).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tempoforge.curate.runners import Work
from tempoforge.errors import UserError

__all__ = ["run_ray"]


def run_ray(work: Work, items: list[dict[str, str]], workers: int) -> Iterator[dict[str, Any]]:
    """``work(item)`` over ``items`` with Ray Data; yields results (JSON-ready dicts) as they arrive."""
    try:
        import ray
    except ImportError:
        raise UserError("--runner ray needs the 'ray' extra: pip install 'tempoforge[ray]'") from None
    if not items:
        return
    if not ray.is_initialized():
        ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    from tempoforge.curate.runners.lifeline import lifeline

    driver = lifeline()

    def _map(row: dict[str, Any]) -> dict[str, Any]:
        import os

        from tempoforge.curate.runners.lifeline import die_with
        from tempoforge.io.convert import DECODE_WORKERS_ENV

        die_with(driver, direct_child=False)  # once per worker process; a no-op on another host
        os.environ.setdefault(DECODE_WORKERS_ENV, "1")  # each task holds one CPU (num_cpus=1)
        result = work({"id": row["id"], "path": row["path"]})
        return {"result": json.dumps(result)}

    ds = ray.data.from_items([{"id": x["id"], "path": x["path"]} for x in items],
                             override_num_blocks=len(items))
    mapped = ds.map(_map, num_cpus=1, concurrency=max(1, workers))
    for row in mapped.iter_rows():
        yield json.loads(row["result"])

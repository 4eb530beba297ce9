"""The study protocol every method shares: arms x seeds, resumable, scored on held-out groups.

A method's study (``study/temple.py``, ...) implements :class:`MethodStudy`: how to prepare one seed (worlds,
starting model, training data), how to train one arm from it, and how to score a model on held-out data as
per-group item scores (``study/stats.py``). :func:`run_study` does the rest the same way for every method:

- every ``(seed, arm)`` is trained and scored once; its result is written atomically to
  ``OUT/seed<S>/arms/<arm>/result.json`` and a rerun skips it (kill the study any time, rerun to resume);
- ``OUT/study.json`` has exactly the schema of issue 17 (``method, preset, seeds, target, base_arm,
  method_arm, arms: {arm: {metric: [value per seed]}}, intervals: {arm: {metric: [lo, hi]}}``), values
  fractions in [0, 1], intervals 95 % cluster-bootstrap intervals over held-out groups;
- ``OUT/details.json`` has the rest: paired differences to the starting model and (``method_minus_arm``) of
  the method arm to every other arm, with intervals; training curves, wall seconds over every invocation
  (``OUT/wall_seconds.json``), seconds per arm, where each model is (relative to OUT, so the folder can be moved or committed);
- ``OUT/study.html`` shows both (``study/report.py``).

The base arm is the starting model itself, scored like every other arm; arms are trained with the same number
of optimiser steps (each method says how in its module docstring).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tempoforge.errors import UserError
from tempoforge.io.jsonl import atomic_write_text
from tempoforge.study.stats import GroupScores, bootstrap_difference, bootstrap_interval, mean_score

__all__ = ["ArmRun", "MethodStudy", "StudyResult", "run_study"]

log = logging.getLogger(__name__)


@dataclass
class ArmRun:
    """One trained arm at one seed: the model it gave and its training curves (``{stage: {series: [...]}}``)."""

    model: str
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)


class MethodStudy(Protocol):
    """What a method's study provides to :func:`run_study`."""

    method: str
    preset: str
    target: str
    base_arm: str
    method_arm: str
    arms: tuple[str, ...]
    metrics: tuple[str, ...]
    descriptions: dict[str, str]

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes the results (preset values): a rerun in the same folder must match it."""
        ...

    def prepare(self, seed: int, work: Path) -> Any:
        """Worlds, starting model and data of one seed under ``work`` (cached; returns a handle)."""
        ...

    def base_model(self, prepared: Any) -> str:
        """The starting model's checkpoint directory."""
        ...

    def train_arm(self, arm: str, seed: int, prepared: Any, work: Path) -> ArmRun:
        """Train ``arm`` from the starting model (resumable) under ``work``."""
        ...

    def evaluate(self, arm: str, model: str, prepared: Any, work: Path) -> dict[str, GroupScores]:
        """Per-group item scores of every metric of ``arm``'s ``model`` on the held-out data."""
        ...


@dataclass
class StudyResult:
    """What ``study.json`` holds, plus the details behind it."""

    summary: dict[str, Any]
    details: dict[str, Any]
    out: Path


def _result_path(out: Path, seed: int, arm: str) -> Path:
    return out / f"seed{seed}" / "arms" / arm / "result.json"


def _run_one(study: MethodStudy, arm: str, seed: int, prepared: Any, out: Path) -> dict[str, Any]:
    path = _result_path(out, seed, arm)
    if path.is_file():
        return dict(json.loads(path.read_text()))
    work = path.parent
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run = ArmRun(study.base_model(prepared)) if arm == study.base_arm else study.train_arm(arm, seed, prepared, work)
    t1 = time.perf_counter()
    scores = study.evaluate(arm, run.model, prepared, work)
    result = {"arm": arm, "seed": seed, "model": run.model, "curves": run.curves,
              "train_seconds": round(t1 - t0, 1), "eval_seconds": round(time.perf_counter() - t1, 1),
              "scores": {m: {g: list(map(float, v)) for g, v in s.items()} for m, s in scores.items()}}
    atomic_write_text(path, json.dumps(result) + "\n")
    return result


def run_study(study: MethodStudy, out: Path, seeds: Sequence[int], *, arms: Sequence[str] | None = None,
              quiet: bool = False, workers: int = 1) -> StudyResult:
    """Train and score every arm at every seed (resuming what is done), then write the study files.

    ``workers > 1`` trains that many arms of a seed at once, each in its own process with one torch thread
    (on 2 cores, two one-thread trainings make ~25 % more steps per second than one two-thread training); with
    several seeds the seeds' preparations (worlds, starting model) run in those processes too, so a seed's
    starting model trains while another seed's arms do (:func:`_run_all`). The tiny models train to the same
    bits with one thread or two, so the schedule does not change any number.
    """
    chosen = list(arms) if arms else list(study.arms)
    unknown = [a for a in chosen if a not in study.arms]
    if unknown:
        raise UserError(f"unknown arm(s) {unknown} for the {study.method} study; known: {', '.join(study.arms)}")
    if study.base_arm not in chosen:
        chosen.insert(0, study.base_arm)  # every difference is measured against the starting model
    if not seeds:
        raise UserError("--seeds needs at least one seed")
    out.mkdir(parents=True, exist_ok=True)
    _check_resume(out, study)
    t_start = time.perf_counter()
    done = _run_all(study, chosen, list(seeds), out, workers, quiet)
    results = {arm: [done[seed, arm] for seed in seeds] for arm in chosen}
    summary = _summary(study, list(seeds), results)
    details = _details(study, list(seeds), results, _wall_seconds(out, time.perf_counter() - t_start), out)
    atomic_write_text(out / "study.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "details.json", json.dumps(details, indent=1) + "\n")
    from tempoforge.study.report import write_study_report

    write_study_report(out / "study.html", summary, details)
    return StudyResult(summary, details, out)


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _prepare_timed(study: MethodStudy, seed: int, out: Path) -> tuple[Any, float]:
    t0 = time.perf_counter()
    return study.prepare(seed, out / f"seed{seed}"), time.perf_counter() - t0


def _run_all(study: MethodStudy, arms: list[str], seeds: list[int], out: Path, workers: int,
             quiet: bool) -> dict[tuple[int, str], dict[str, Any]]:
    """Every ``(seed, arm)`` result; results already saved are read, not rerun.

    ``workers <= 1``: everything here, seed by seed. Otherwise the arms train in ``workers`` one-thread
    processes, and so do the seeds' preparations when there are several (each seed's is queued first and its
    arms as soon as it is done, so no process waits while another seed's starting model trains); a single
    seed is prepared here, with the main process's threads."""
    results: dict[tuple[int, str], dict[str, Any]] = {}
    t0 = time.perf_counter()

    def prepared_in(seed: int, seconds: float) -> None:
        _say(quiet, f"[{study.method} seed {seed}] prepared in {seconds:.0f} s")

    def finish(seed: int, arm: str, res: dict[str, Any]) -> None:
        results[seed, arm] = res
        target = mean_score(res["scores"][study.target])
        _say(quiet, f"[{study.method} seed {seed}] {arm}: {study.target} {target:.3f} "
                    f"({time.perf_counter() - t0:.0f} s)")

    if workers <= 1:
        for seed in seeds:
            prepared, seconds = _prepare_timed(study, seed, out)
            prepared_in(seed, seconds)
            for arm in arms:
                finish(seed, arm, _run_one(study, arm, seed, prepared, out))
        return results
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")  # never fork a process that holds torch's thread pools
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_one_thread) as pool:
        pending: dict[Future[Any], tuple[int, str | None]] = {}

        def queue_arms(seed: int, prepared: Any) -> None:
            for a in arms:
                if _result_path(out, seed, a).is_file():
                    finish(seed, a, _run_one(study, a, seed, prepared, out))  # saved: read it
                else:
                    pending[pool.submit(_run_one, study, a, seed, prepared, out)] = (seed, a)

        if len(seeds) == 1:
            prepared, seconds = _prepare_timed(study, seeds[0], out)
            prepared_in(seeds[0], seconds)
            queue_arms(seeds[0], prepared)
        else:
            pending.update({pool.submit(_prepare_timed, study, seed, out): (seed, None) for seed in seeds})
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                seed, job = pending.pop(fut)
                if job is None:  # a seed's preparation
                    prepared, seconds = fut.result()
                    prepared_in(seed, seconds)
                    queue_arms(seed, prepared)
                else:
                    finish(seed, job, fut.result())
    return results


def _wall_seconds(out: Path, this_run: float) -> float:
    """Wall time of the study over every invocation: ``OUT/wall_seconds.json`` adds each run's (a resumed study
    would otherwise report only the seconds of its last, possibly instant, invocation)."""
    path = out / "wall_seconds.json"
    before = float(json.loads(path.read_text())["seconds"]) if path.is_file() else 0.0
    total = before + this_run
    atomic_write_text(path, json.dumps({"seconds": round(total, 1)}) + "\n")
    return total


def _check_resume(out: Path, study: MethodStudy) -> None:
    """``OUT/config.json`` records what the results were made with; a different study there is an error."""
    path = out / "config.json"
    settings: dict[str, Any] = json.loads(json.dumps(study.fingerprint()))
    mine: dict[str, Any] = {"method": study.method, "preset": study.preset, "settings": settings}
    if path.is_file():
        old = json.loads(path.read_text())
        if old != mine:
            before: dict[str, Any] = old.get("settings", {})
            diff = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise UserError(f"{out} holds a {old.get('method')} study made with other settings (preset "
                            f"{old.get('preset')!r}; differing: {diff or ['method']}); use a new --out or the same "
                            "settings to resume")
        return
    atomic_write_text(path, json.dumps(mine, indent=1) + "\n")


def _say(quiet: bool, msg: str) -> None:
    if quiet:
        log.info(msg)
    else:
        print(msg, flush=True)


def _summary(study: MethodStudy, seeds: list[int], results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    arms: dict[str, dict[str, list[float]]] = {}
    intervals: dict[str, dict[str, list[float]]] = {}
    for arm, runs in results.items():
        arms[arm], intervals[arm] = {}, {}
        for m in study.metrics:
            per_seed = [r["scores"][m] for r in runs]
            arms[arm][m] = [round(mean_score(s), 6) for s in per_seed]
            lo, hi = bootstrap_interval(per_seed)
            intervals[arm][m] = [round(lo, 6), round(hi, 6)]
    return {"method": study.method, "preset": study.preset, "seeds": seeds, "target": study.target,
            "base_arm": study.base_arm, "method_arm": study.method_arm, "arms": arms, "intervals": intervals}


def _details(study: MethodStudy, seeds: list[int], results: dict[str, list[dict[str, Any]]],
             seconds: float, out: Path) -> dict[str, Any]:
    """details.json: paired differences, curves and timings; model folders relative to the study folder ``out``,
    so the folder can be moved or committed whole."""
    base = results[study.base_arm]

    def minus(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, list[float]]:
        """``a - b`` per metric with its paired interval: ``[difference, lo, hi]``."""
        return {m: [round(x, 6) for x in bootstrap_difference([r["scores"][m] for r in a],
                                                              [r["scores"][m] for r in b])]
                for m in study.metrics}

    diffs = {arm: minus(runs, base) for arm, runs in results.items() if arm != study.base_arm}
    method = results.get(study.method_arm)
    versus = ({arm: minus(method, runs) for arm, runs in results.items()  # the paper's orderings
               if arm not in (study.method_arm, study.base_arm)} if method is not None else {})
    held_out = {m: len({g for r in base for g in r["scores"][m]}) for m in study.metrics}
    items = {m: sum(len(v) for v in base[0]["scores"][m].values()) for m in study.metrics}
    return {
        "method": study.method, "preset": study.preset, "seeds": seeds, "seconds": round(seconds, 1),
        "descriptions": {a: study.descriptions.get(a, "") for a in results},
        "held_out_groups": held_out, "items_per_seed": items,
        "difference_to_base": diffs,
        "method_minus_arm": versus,
        "runs": {arm: [{"seed": r["seed"], "model": os.path.relpath(Path(r["model"]).resolve(), out.resolve()),
                        **{k: r[k] for k in ("curves", "train_seconds", "eval_seconds")}}
                       for r in runs] for arm, runs in results.items()},
    }

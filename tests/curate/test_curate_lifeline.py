"""``kill -9`` of a curation driver leaves no worker behind: local pool workers, the resource tracker, and
(integration) Ray workers, all gone within a few seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tempoforge.curate.runners.lifeline import Lifeline, die_with, lifeline

Factory = Callable[..., tuple[Path, list[float]]]
SRC = Path(__file__).resolve().parents[2] / "src"


def _children(pid: int) -> dict[int, str]:
    """pid -> command line of every live process whose parent is ``pid`` (Linux /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[1]) == pid and stat[0] != "Z":
            out[int(entry.name)] = cmd
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status waits to be collected


def _wait_gone(pids: list[int], seconds: float) -> tuple[list[int], float]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        alive = [p for p in pids if _running(p)]
        if not alive:
            return [], time.monotonic() - t0
        time.sleep(0.05)
    return [p for p in pids if _running(p)], time.monotonic() - t0


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.integration  # ~12 s: two spawned workers import torch before they take a video
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_curate_leaves_no_worker(video_factory: Factory, tmp_path: Path) -> None:
    names = ["red", "green", "blue", "yellow", "purple", "cyan"]
    for v in range(8):
        video_factory(f"v{v}.mp4", [(names[(v + k) % 6], 40) for k in range(5)])
    out = tmp_path / "out"
    workers: dict[int, str] = {}
    proc = subprocess.Popen([sys.executable, "-m", "tempoforge.cli", "-q", "curate", "--in", str(tmp_path / "videos"),
                             "--out", str(out), "--workers", "2", "--detector", "adaptive"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            kids = _children(proc.pid)
            workers = {p: c for p, c in kids.items() if "multiprocessing" in c}
            done = (out / "kept.jsonl").exists() and (out / "rejected.jsonl").exists() and \
                len((out / "kept.jsonl").read_text().splitlines() + (out / "rejected.jsonl").read_text().splitlines())
            if done and sum("spawn" in c for c in workers.values()) == 2:
                break  # both workers are busy with videos
            time.sleep(0.05)
        assert proc.poll() is None, "curate finished before it could be killed: give it more work"
        spawned = [p for p, c in workers.items() if "spawn" in c]
        assert len(spawned) == 2, workers
        tracked = sorted(workers)  # the two workers and the resource tracker
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        alive, took = _wait_gone(tracked, 5.0)  # measured: gone 0.16 s after the kill
        assert alive == [], f"still running {took:.1f} s after kill -9: {[workers[p] for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:  # a failing run must not leave its orphans behind either
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_parent_death_signal_kills_a_direct_child_at_once(tmp_path: Path) -> None:
    # the watchdog polls only every 60 s here: a child gone within 2 s was killed by PR_SET_PDEATHSIG
    pid_file = tmp_path / "child.pid"
    child_code = ("import os, time; from tempoforge.curate.runners.lifeline import die_with, lifeline; "
                  "import tempoforge.curate.runners.lifeline as m; "
                  "line = m.Lifeline(os.getppid(), m._stat(os.getppid())[1], lifeline().host); "
                  f"die_with(line, direct_child=True, poll=60); open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
                  "time.sleep(60)")
    driver = subprocess.Popen([sys.executable, "-c", (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child_code!r}]); time.sleep(60)")],
        env=_env())
    child = None
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        child = int(pid_file.read_text())
        assert _running(child)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        alive, took = _wait_gone([child], 2.0)
        assert alive == [], f"the child survived its parent by {took:.1f} s"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_watchdog_ends_a_process_that_is_not_the_drivers_child(tmp_path: Path) -> None:
    # the Ray case: the worker's parent is Ray's raylet, so only the watchdog can notice the driver's death
    line_file = tmp_path / "line.json"
    driver = subprocess.Popen([sys.executable, "-c", (
        "import json, sys, time; from tempoforge.curate.runners.lifeline import lifeline; l = lifeline(); "
        f"open({str(line_file)!r}, 'w').write(json.dumps([l.pid, l.start, l.host])); time.sleep(60)")], env=_env())
    try:
        deadline = time.monotonic() + 30
        while not (line_file.exists() and line_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        pid, start, host = json.loads(line_file.read_text())
        assert (pid, host) == (driver.pid, lifeline().host) and start is not None
        worker = subprocess.Popen([sys.executable, "-c", (
            "import time; from tempoforge.curate.runners.lifeline import Lifeline, die_with; "
            f"die_with(Lifeline({pid}, {start!r}, {host!r}), direct_child=False, poll=0.1); time.sleep(60)")],
            env=_env())
        time.sleep(1.0)
        assert worker.poll() is None  # the driver lives: the worker keeps running
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        t0 = time.monotonic()
        assert worker.wait(timeout=5) == 1
        assert time.monotonic() - t0 < 5
    finally:
        for p in (driver, locals().get("worker")):
            if isinstance(p, subprocess.Popen) and p.poll() is None:
                p.kill()
                p.wait()


def test_a_reused_pid_is_not_the_driver() -> None:
    me = lifeline()
    assert me.start is not None or not sys.platform.startswith("linux")
    from tempoforge.curate.runners import lifeline as module

    assert module._alive(me)
    assert not module._alive(Lifeline(me.pid, "1", me.host))  # same pid, another start time: a reused pid
    assert die_with(Lifeline(me.pid, me.start, "another-host"), direct_child=False) is None  # remote: no-op


@pytest.mark.integration
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_ray_curation_leaves_no_ray_worker(video_factory: Factory, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="needs the 'ray' extra")
    names = ["red", "green", "blue", "yellow", "purple", "cyan"]
    for v in range(12):
        video_factory(f"v{v:02d}.mp4", [(names[(v + k) % 6], 40) for k in range(5)])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tempoforge.cli", "-q", "curate", "--in", str(tmp_path / "videos"),
                             "--out", str(out), "--workers", "2", "--runner", "ray", "--detector", "adaptive"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "kept.jsonl").exists() and (out / "rejected.jsonl").exists() and \
                    (out / "kept.jsonl").read_text() + (out / "rejected.jsonl").read_text():
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the Ray run finished before it could be killed"
        ours = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _session(int(p.name)) == proc.pid]
        ray_workers = [pid for pid in ours if _ray_worker(pid)]
        assert ray_workers, "no Ray worker found"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        alive, took = _wait_gone(ray_workers, 10.0)
        assert alive == [], f"Ray workers still running {took:.1f} s after kill -9: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in ours if "ours" in locals() else []:  # Ray's own agents (see below) and any failure's orphans
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def _ray_worker(pid: int) -> bool:
    """A Ray worker process (``ray::IDLE``, ``ray::Map(_map)``...), not one of Ray's per-node agents.

    Ray 2.60's DashboardAgent and RuntimeEnvAgent log "Raylet is dead! Exiting" when the raylet dies with the
    driver, then hang (even SIGTERM does not end them): Ray's processes, not tempoforge's workers.
    """
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return (cmd.startswith(b"ray::") and b"Agent" not in cmd) or b"default_worker.py" in cmd


def _session(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[3])
    except (OSError, IndexError, ValueError):
        return -1

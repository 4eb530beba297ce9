"""Worker processes die with the process that started them, even when it is killed with ``kill -9``.

A killed driver runs no cleanup, so its pool workers (each holding a decoder, ~0.7 GB) would otherwise run
on as orphans. :func:`die_with` arms two independent mechanisms in the worker:

1. on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker the moment its parent exits
   (for a direct child only: the signal follows the parent *thread* that started the worker, which for the
   local pool is the driver's main thread);
2. everywhere, a daemon watchdog thread that checks every ``poll`` seconds whether the driver still runs
   (its pid alive with the same start time, or for a direct child: the worker not re-parented) and
   otherwise ends the worker with ``os._exit``. This also covers Ray workers, whose parent is Ray's
   raylet, not the driver.

When the workers are gone, the driver's multiprocessing resource tracker sees its pipe close and exits too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

__all__ = ["Lifeline", "die_with", "lifeline"]

_PR_SET_PDEATHSIG = 1
_armed: set[int] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class Lifeline:
    """Who a worker must not outlive: the driver's pid, its start time (pid reuse guard) and host."""

    pid: int
    start: str | None
    host: str


def _stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time)`` of a process from ``/proc/<pid>/stat`` (fields 3 and 22), or ``None``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().decode(errors="replace").rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return fields[0], fields[19]


def lifeline() -> Lifeline:
    """The calling process (the driver) as a :class:`Lifeline` to hand to its workers."""
    pid = os.getpid()
    stat = _stat(pid)
    return Lifeline(pid, stat[1] if stat else None, socket.gethostname())


def _alive(line: Lifeline) -> bool:
    """Whether the driver still runs: its pid exists, is not a zombie, and started when the driver did."""
    try:
        os.kill(line.pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or a reused pid owned by someone else
        return False
    if line.start is None:  # no /proc: the pid's existence is all we know
        return True
    stat = _stat(line.pid)
    return stat is not None and stat[0] != "Z" and stat[1] == line.start


def _set_pdeathsig() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover  (no libc prctl: the watchdog still runs)
        pass


def die_with(line: Lifeline, *, direct_child: bool, poll: float = 0.5) -> None:
    """Make this process exit when the driver ``line`` dies (idempotent per process).

    ``direct_child``: the driver is this process's parent (a local pool worker); then the kernel's
    parent-death signal is armed too. A driver on another host (a Ray cluster) cannot be watched: no-op.
    """
    if line.host != socket.gethostname():
        return
    with _lock:
        if os.getpid() in _armed:
            return
        _armed.add(os.getpid())
    parent = os.getppid()
    if direct_child:
        _set_pdeathsig()
        if parent != line.pid:  # the driver died before the signal was armed
            os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll)
            if (direct_child and os.getppid() != parent) or not _alive(line):
                os._exit(1)

    threading.Thread(target=watch, name="tempoforge-lifeline", daemon=True).start()

"""Measuring in fresh processes: a snippet's time and its own peak memory, and the JSON
answer of a benchmark module run as a child (``python -m benchmarks.<module> SPEC``)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from .paths import REPO

_CHILD = r"""
import json, sys, time
setup, timed = sys.argv[1], sys.argv[2]
namespace = {"args": sys.argv[3:]}
exec(setup, namespace)
started = time.perf_counter()
exec(timed, namespace)
elapsed = time.perf_counter() - started
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024}))
"""


@dataclass
class ProcessRun:
    """One run of a contender in a fresh process (or the median of several)."""

    seconds: float
    #: The process's own peak RSS (VmHWM), in MiB.
    peak_mb: float


@dataclass
class ChildAnswer:
    """What a module child printed last (its JSON answer), or why it failed."""

    wall_s: float
    answer: dict[str, Any] | None = None
    error: str | None = None


def measure(setup: str, timed: str, *args: str) -> ProcessRun:
    """Run ``setup`` then time ``timed`` in a new Python process (``args`` in ``args``).

    The peak is the child's own VmHWM: ru_maxrss would carry the parent's peak across exec.
    Dirty pages left by the previous contender are flushed first (``os.sync``), so no
    contender pays for another's writeback. The child starts in the repository's root, so
    a snippet can import ``benchmarks``.
    """
    os.sync()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, setup, timed, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-2000:]}")
    return ProcessRun(**json.loads(done.stdout.strip().splitlines()[-1]))


def medians(runs: dict[str, list[ProcessRun]]) -> dict[str, ProcessRun]:
    """Median seconds and the highest peak of each contender's runs."""
    return {
        name: ProcessRun(
            seconds=statistics.median(r.seconds for r in results),
            peak_mb=max(r.peak_mb for r in results),
        )
        for name, results in runs.items()
    }


def run_child(module: str, spec: dict[str, Any], python: str = sys.executable) -> ChildAnswer:
    """``python -m module SPEC`` in the repository's root; its answer is the JSON object on
    the last line of its output. A failure is returned as ``error`` (the end of stderr)."""
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-m", module, json.dumps(spec)], capture_output=True, text=True, cwd=REPO
    )
    wall = time.perf_counter() - started
    if done.returncode:
        return ChildAnswer(
            wall, error=done.stderr.strip()[-1500:] or f"exit status {done.returncode}"
        )
    return ChildAnswer(wall, answer=json.loads(done.stdout.strip().splitlines()[-1]))

"""Timing helpers shared by the benchmarks: interleaved, time-budgeted repeats of several
operations, their medians and percentiles, and the process's own peak memory.

Standard library only: MLflow's child (``sections/mlflow_cell.py``) runs it in MLflow's own
virtualenv.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Timing:
    """Repeated calls of one operation: count and milliseconds (median, p90, min, max)."""

    n: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    #: The length of what the first call returned, when it has one (query hits).
    results: int | None = None
    #: Seconds spent in the calls altogether.
    spent_s: float = 0.0


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM) in MiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, interpolated linearly between ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(seconds: list[float]) -> Timing:
    """Count, median, p90, min and max of a list of durations, in milliseconds."""
    return Timing(
        n=len(seconds),
        median_ms=statistics.median(seconds) * 1000 if seconds else math.nan,
        p90_ms=percentile(seconds, 0.9) * 1000,
        min_ms=min(seconds) * 1000 if seconds else math.nan,
        max_ms=max(seconds) * 1000 if seconds else math.nan,
    )


def run_interleaved(
    ops: Mapping[str, Callable[[int], Any]],
    *,
    max_reps: int,
    budget: float,
    min_reps: int = 3,
    prepare: Mapping[str, Callable[[int], Any]] | None = None,
) -> dict[str, Timing]:
    """Time every operation repeatedly, one call of each in turn (round robin), so a change in
    machine load or store state touches all of them alike.

    An operation stops after ``max_reps`` calls, or once it has used ``budget`` seconds and has
    at least ``min_reps`` calls; a very slow one stops at ``3 * budget`` whatever its count
    (at least one call is always made). Each call gets its repeat index.

    ``prepare[name](rep)``, when given, runs just before the call, untimed: what the call
    consumes (the asset a delete removes) is made there.
    """
    prepare = prepare or {}
    samples: dict[str, list[float]] = {name: [] for name in ops}
    spent: dict[str, float] = dict.fromkeys(ops, 0.0)
    results: dict[str, int | None] = dict.fromkeys(ops)
    active = list(ops)
    rep = 0
    while active:
        for name in list(active):
            if name in prepare:
                prepare[name](rep)
            started = time.perf_counter()
            value = ops[name](rep)
            elapsed = time.perf_counter() - started
            samples[name].append(elapsed)
            spent[name] += elapsed
            if rep == 0 and hasattr(value, "__len__"):
                results[name] = len(value)
            count = len(samples[name])
            if (
                count >= max_reps
                or (spent[name] >= budget and count >= min_reps)
                or spent[name] >= 3 * budget
            ):
                active.remove(name)
        rep += 1
    timings = {}
    for name in ops:
        timing = summarize(samples[name])
        timing.results, timing.spent_s = results[name], spent[name]
        timings[name] = timing
    return timings

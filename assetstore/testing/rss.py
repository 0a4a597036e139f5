"""The peak resident memory of a process while a block of code runs (needs psutil, a
development dependency): how the tests and benchmarks show that transfers stream."""

from __future__ import annotations

import threading
import time


class PeakRss:
    """Samples a process's resident memory in a thread while the block runs:
    ``with PeakRss(pid) as rss: ...`` then ``rss.growth`` (bytes above the starting RSS)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self._interval = interval
        self.baseline = self.peak = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._interval)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


__all__ = ["PeakRss"]

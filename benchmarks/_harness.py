"""Shared by the benchmarks: run a snippet in a fresh process and report its time and its own
peak memory, and start servers in their own processes."""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The repository's root: children start there, so they import ``benchmarks`` as a package.
REPO = Path(__file__).resolve().parents[1]

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


def measure(setup: str, timed: str, *args: str) -> dict[str, float]:
    """Run ``setup`` then time ``timed`` in a new Python process (``args`` in ``args``).

    The peak is the child's own VmHWM: ru_maxrss would carry the parent's peak across exec.
    Dirty pages left by the previous contender are flushed first (``os.sync``), so no
    contender pays for another's writeback.
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
    return json.loads(done.stdout.strip().splitlines()[-1])


def asset_records(count: int, *, tags: int = 30, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` realistic external-asset records for ``register_many``: 50 namespaces, 20
    versions per name, a tag ``group<i % tags>`` on each, a framework shared by a third."""
    rng = random.Random(seed)
    return [
        {
            "asset_name": f"org{i % 50}/model{i}",
            "asset_version": {"version": f"1.{i % 20}.0", "tag": "stable"},
            "asset_metadata": {
                "framework": rng.choice(["pytorch", "tensorflow", "onnx"]),
                "params": i * 1000,
                "description": "a benchmark asset",
            },
            "asset_public_url": f"https://models.example.com/m{i}.pt",
            "asset_file_info": {
                "file_size": 1234,
                "file_type": "application/octet-stream",
                "filename": "m.pt",
            },
            "asset_tags": ["bench", f"group{i % tags}"],
        }
        for i in range(count)
    ]


def medians(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Median seconds and the highest peak of each contender's runs."""
    return {
        name: {
            "seconds": statistics.median(r["seconds"] for r in results),
            "peak_mb": max(r["peak_mb"] for r in results),
        }
        for name, results in runs.items()
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server in its own process (it keeps objects in RAM, which must not count
    against the client being measured); yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)

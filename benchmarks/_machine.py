"""What the report says about the machine and the software it measured."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

#: Distributions whose versions the report lists.
PACKAGES = (
    "assetstore",
    "pydantic",
    "orjson",
    "tinydb",
    "filelock",
    "fsspec",
    "httpx",
    "fastapi",
    "uvicorn",
    "starlette",
    "s3fs",
    "boto3",
    "moto",
    "pymongo",
    "mongomock",
    "mongoquery",
    "montydb",
    "psutil",
    "matplotlib",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def machine(workdir: Path) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    disk = shutil.disk_usage(workdir)
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gib": round(memory.total / (1 << 30), 1),
        "ram_available_gib": round(memory.available / (1 << 30), 1),
        "disk": str(workdir),
        "disk_free_gib": round(disk.free / (1 << 30), 1),
        "disk_total_gib": round(disk.total / (1 << 30), 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # rstrip only: a porcelain status line starts with a space (" M path"), which is part of it.
    return done.stdout.rstrip() if done.returncode == 0 else None


def git_state(repo: Path) -> dict[str, Any]:
    """The commit measured, and the files that differ from it (the tree is shared with other
    work in progress: the numbers are those of the tree as it was, not of the commit)."""
    status = _git(repo, "status", "--porcelain", "--untracked-files=no") or ""
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    return {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "subject": _git(repo, "log", "-1", "--format=%s"),
        "changed_files": changed,
        "changed_library_files": [f for f in changed if f.startswith(("assetstore/", "backends/"))],
    }

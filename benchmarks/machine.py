"""What the report says about the machine and the software it measured."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

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


@dataclass
class Machine:
    """The machine a run measured on."""

    cpu: str
    logical_cpus: int | None
    physical_cores: int | None
    ram_gib: float
    ram_available_gib: float
    #: The directory of the large temporary files, and its file system's space.
    disk: str
    disk_free_gib: float
    disk_total_gib: float
    platform: str
    python: str
    python_implementation: str
    #: ``platform.machine()``; None in results saved before it was recorded.
    arch: str | None = None


@dataclass
class GitState:
    """The commit measured, and the files that differ from it (the tree is shared with other
    work in progress: the numbers are those of the tree as it was, not of the commit)."""

    commit: str | None
    subject: str | None
    changed_files: list[str]
    changed_library_files: list[str]


def cpu_model() -> str:
    """The CPU's model name."""
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


def machine(workdir: Path) -> Machine:
    """This machine, with the space on ``workdir``'s file system."""
    memory = psutil.virtual_memory()
    disk = shutil.disk_usage(workdir)
    return Machine(
        cpu=cpu_model(),
        logical_cpus=os.cpu_count(),
        physical_cores=psutil.cpu_count(logical=False),
        ram_gib=round(memory.total / (1 << 30), 1),
        ram_available_gib=round(memory.available / (1 << 30), 1),
        disk=str(workdir),
        disk_free_gib=round(disk.free / (1 << 30), 1),
        disk_total_gib=round(disk.total / (1 << 30), 1),
        platform=platform.platform(),
        python=platform.python_version(),
        python_implementation=platform.python_implementation(),
        arch=platform.machine(),
    )


def versions() -> dict[str, str | None]:
    """The installed version of each of :data:`PACKAGES` (None: not installed)."""
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


def git_state(repo: Path) -> GitState:
    """The commit checked out in ``repo`` and the tracked files that differ from it."""
    status = _git(repo, "status", "--porcelain", "--untracked-files=no") or ""
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    return GitState(
        commit=_git(repo, "rev-parse", "HEAD"),
        subject=_git(repo, "log", "-1", "--format=%s"),
        changed_files=changed,
        changed_library_files=[f for f in changed if f.startswith(("assetstore/", "backends/"))],
    )

"""The declared style is enforced: ruff (lint and format) on the whole tree, mypy (strict,
as configured in pyproject.toml) on the library as it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return str(path)


def test_ruff_check_is_clean():
    result = run(tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = run(tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_the_library(tmp_path):
    """backends/ is installed as assetstore.backends (a package-dir mapping mypy cannot
    follow in an editable install), so the check runs on a copy laid out as installed."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "assetstore", tree / "assetstore")
    shutil.copytree(ROOT / "backends", tree / "assetstore" / "backends")
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    result = run(
        tool("mypy"), "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "assetstore", cwd=tree
    )
    assert result.returncode == 0, result.stdout.replace(str(tree) + "/", "") + result.stderr

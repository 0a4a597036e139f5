"""Fixtures of the hostile-input suite.

The live-server helpers of ``tests/http`` (``live_server.py``) are reused, not copied: that
directory is put on ``sys.path`` here, whatever pytest's import mode and whichever subset of
the tests runs (its own conftest does not run when only this directory is collected).

* ``live``: an in-thread server (one per module) on a fresh local store and registry per
  test, inside a directory that also holds sentinel files, so a test can prove that nothing
  outside the store was touched; ``live.set_settings(...)`` as in tests/http.
* ``secure_server``: one real ``assetstore serve`` subprocess for the session, with a token
  (from the environment), a 128 MiB upload limit and debug logging to ``server.log``.
* ``canary``: an HTTP server on 127.0.0.1 that records every request.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

HERE = Path(__file__).resolve().parent
for helper_dir in (HERE.parent / "http", HERE):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))

from live_server import CliServer, Live, fresh_live, run_cli_server, serve_both  # noqa: E402
from seckit import TOKEN, Canary, http_server  # noqa: E402

SENTINELS = {
    "etc/passwd": b"root:x:0:0:sentinel\n",
    "secret.txt": b"sentinel secret\n",
    "store-sibling/x": b"sibling\n",
}


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    with serve_both(tmp_path_factory.mktemp("security-placeholder")) as served:
        yield served


@pytest.fixture
def live(live_app: tuple[FastAPI, str], tmp_path: Path) -> Iterator[Live]:
    """The module's server on a fresh store (``root/store``) and registry (``root/registry``);
    ``root`` also holds the files of ``SENTINELS``."""
    for relative, content in SENTINELS.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with fresh_live(*live_app, tmp_path) as live:
        yield live


@pytest.fixture(scope="session")
def secure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    workdir = tmp_path_factory.mktemp("secure-server")
    with run_cli_server(
        workdir,
        "--no-register-health-check",
        "--max-upload-mb",
        "128",
        "--log-level",
        "debug",
        env={"ASSETSTORE_TOKEN": TOKEN},
    ) as server:
        yield server


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """One HTTP client for the session (a new httpx client per request costs ~50 ms of TLS
    set-up, which adds up over hundreds of hostile requests)."""
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def canary() -> Iterator[Canary]:
    with http_server("127.0.0.1") as server:
        yield server


def pytest_configure(config: pytest.Config) -> None:
    # As in tests/http/conftest.py (which does not run when only this directory is
    # collected): FastAPI's lazy parameter building is not thread-safe about this warning.
    config.addinivalue_line(
        "filterwarnings", "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
    )

"""Fixtures of the HTTP tests; the servers themselves are in live_server.py.

* ``live``: an in-thread server (one per module) swapped onto a fresh local store and registry
  for each test; ``live.set_settings(...)`` changes its settings for that test.
* ``cli_server``: one ``assetstore serve`` subprocess for the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from live_server import CliServer, Live, fresh_live, run_cli_server, serve_both


@pytest.fixture(scope="session")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    """One ``assetstore serve --no-register-health-check`` for the session, on the embedded
    default store of a fresh directory (the spec's registry example names example.com,
    which cannot be reached from here)."""
    workdir = tmp_path_factory.mktemp("cli-server")
    with run_cli_server(workdir, "--no-register-health-check") as server:
        yield server


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """One server per test module, serving both services."""
    with serve_both(tmp_path_factory.mktemp("placeholder")) as served:
        yield served


@pytest.fixture
def live(live_app: tuple[FastAPI, str], tmp_path: Path) -> Iterator[Live]:
    """The module's server, swapped onto a fresh local store and registry for this test."""
    with fresh_live(*live_app, tmp_path) as live:
        yield live


def pytest_configure(config: pytest.Config) -> None:
    # FastAPI silences this pydantic warning while it builds a route's parameters lazily, with
    # warnings.catch_warnings(), which is not thread-safe: with several servers in threads
    # the warning escapes. It is about FastAPI's internals, not about this code.
    config.addinivalue_line(
        "filterwarnings", "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
    )
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")

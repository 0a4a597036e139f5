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
from live_server import CliServer, Live, run_cli_server, serve_app

from assetstore import open_registry, open_store
from assetstore.http.app import create_app
from assetstore.http.settings import ServiceSettings


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
    root = tmp_path_factory.mktemp("placeholder")
    with open_store(root / "store") as store, open_registry(root / "registry") as registry:
        app = create_app(store, registry, ServiceSettings())
        with serve_app(app) as url:
            yield app, url


@pytest.fixture
def live(live_app: tuple[FastAPI, str], tmp_path: Path) -> Iterator[Live]:
    """The module's server, swapped onto a fresh local store and registry for this test."""
    app, url = live_app
    with (
        open_store(tmp_path / "store") as store,
        open_registry(tmp_path / "registry") as registry,
    ):
        app.state.store, app.state.registry = store, registry
        app.state.settings = ServiceSettings()
        yield Live(url, app, store, registry, tmp_path)


def pytest_configure(config: pytest.Config) -> None:
    # FastAPI silences this pydantic warning while it builds a route's parameters lazily, with
    # warnings.catch_warnings(), which is not thread-safe: with several servers in threads
    # the warning escapes. It is about FastAPI's internals, not about this code.
    config.addinivalue_line(
        "filterwarnings", "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
    )
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")

"""Fixtures of the web interface's tests.

* ``ui``: an in-thread server (one per module, 127.0.0.1, a free port) swapped onto a fresh
  local store and registry for each test; ``ui.set_settings(...)`` changes its settings.
* ``browser``: Debian's Chromium (``/usr/bin/chromium``, or ``ASSETSTORE_TEST_CHROMIUM``),
  headless, driven by Playwright through ``executable_path`` (``playwright install``, which
  downloads a browser of its own, is never used). Playwright gives every launch a fresh
  temporary ``--user-data-dir``.
* ``tab``: a new browser context (fresh sessionStorage) and page for one test; at the end the
  test fails if the page raised a script error, opened an alert or broke the
  Content-Security-Policy.

Without Chromium or the ``playwright`` package the browser tests are skipped with a reason
that says how to enable them; in CI (``CI`` set, where ``.ci/run`` installs Chromium) a
browser that cannot start fails them instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))

from ui_helpers import Tab, UiServer, serve_ui

CHROMIUM = os.environ.get("ASSETSTORE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
HOW_TO_ENABLE = (
    "install Debian's Chromium (apt-get install chromium) and the dev extra "
    "(pip install -e '.[dev]'), or set ASSETSTORE_TEST_CHROMIUM to a Chromium binary; "
    ".ci/run does both"
)


def _unavailable(reason: str) -> None:
    message = f"browser tests need Chromium: {reason}; {HOW_TO_ENABLE}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI installs it, so here this is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    binary = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if binary is None:
        _unavailable(f"{CHROMIUM} does not exist")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=binary, headless=True, args=CHROMIUM_FLAGS
            )
        except Error as exc:
            _unavailable(f"{binary} did not start ({str(exc).splitlines()[0]})")
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def ui_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with serve_ui(tmp_path_factory.mktemp("ui-placeholder")) as server:
        yield server


@pytest.fixture
def ui(ui_app: UiServer, tmp_path: Path) -> Iterator[UiServer]:
    """The module's server on a fresh store and registry (and default settings)."""
    with ui_app.fresh(tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``ASSETSTORE_UI_SCREENSHOTS`` (docs/img/ is made this way),
    else a temporary directory."""
    target = os.environ.get("ASSETSTORE_UI_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def tab(browser: Any, ui: UiServer, screenshots: Path) -> Iterator[Tab]:
    """A fresh browser context and page on ``ui``; checked for script errors, alerts and
    Content-Security-Policy violations at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    opened = Tab.open(context, ui.url, screenshots)
    try:
        yield opened
        opened.assert_clean()
    finally:
        context.close()

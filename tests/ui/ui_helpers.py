"""Servers and browser tabs for the web interface's tests (used by conftest.py and the tests).

* :func:`serve_ui` serves both services with the UI, in a thread, on 127.0.0.1;
  :meth:`UiServer.fresh` swaps it onto a new store and registry for one test.
* :func:`serve_store` serves another store (a federated search's peer).
* :class:`Tab` is one browser page that records script errors, alerts and
  Content-Security-Policy violations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from live_server import free_port, serve_app

from assetstore import open_registry, open_store
from assetstore._outbound import AddressPolicy
from assetstore.contract import AssetStore, Registry
from assetstore.http.app import create_app
from assetstore.settings import ServiceSettings

TOKEN = "ui-test-token"
#: Health checks and federated searches may reach 127.0.0.1 in these tests (the peers and
#: the unreachable store live there).
LOOPBACK_ALLOWED = {"allow_private_health_checks": True}


@dataclass
class UiServer:
    """A running server with the UI, and what it serves."""

    url: str
    app: FastAPI
    store: AssetStore
    registry: Registry

    def set_settings(self, **values: Any) -> ServiceSettings:
        """Change the service's settings for this test (private health checks stay allowed)."""
        settings = ServiceSettings(**{**LOOPBACK_ALLOWED, **values})
        self.app.state.settings = settings
        return settings

    @contextlib.contextmanager
    def fresh(self, root: Path) -> Iterator[UiServer]:
        """This server on a new store and registry under ``root``, with default settings."""
        with (
            open_store(root / "store") as store,
            open_registry(
                root / "registry", address_policy=AddressPolicy(allow_private=True)
            ) as registry,
        ):
            self.app.state.store, self.app.state.registry = store, registry
            served = UiServer(self.url, self.app, store, registry)
            served.set_settings()
            yield served


@contextlib.contextmanager
def serve_ui(root: Path) -> Iterator[UiServer]:
    """Both services and the UI, in a thread, on a store and registry under ``root``."""
    with open_store(root / "store") as store, open_registry(root / "registry") as registry:
        app = create_app(store, registry, ServiceSettings(**LOOPBACK_ALLOWED))
        with serve_app(app) as url:
            yield UiServer(url, app, store, registry)


@contextlib.contextmanager
def serve_store(root: Path) -> Iterator[tuple[str, AssetStore]]:
    """Another store, served over HTTP (a peer for federated searches)."""
    with open_store(root / "peer") as store, serve_app(create_app(store)) as url:
        yield url, store


@contextlib.contextmanager
def serve_sick_store() -> Iterator[str]:
    """A server whose ``/health`` answers 503 (a store that is up but unhealthy)."""
    app = FastAPI()

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"success": False, "status": "database down"}, status_code=503)

    with serve_app(app) as url:
        yield url


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


#: Installed before any page script: reports every Content-Security-Policy violation.
RECORDER = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__reportViolation(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


@dataclass
class Tab:
    """A browser page on the UI, with what went wrong in it."""

    page: Any
    base: str
    screenshots: Path
    errors: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    writes: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def open(cls, context: Any, base: str, screenshots: Path) -> Tab:
        violations: list[str] = []
        context.expose_binding("__reportViolation", lambda _source, v: violations.append(v))
        context.add_init_script(RECORDER)
        page = context.new_page()
        page.set_default_timeout(15_000)
        tab = cls(page, base, screenshots, violations=violations)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        page.on("request", tab._record_write)

        def on_dialog(dialog: Any) -> None:
            tab.alerts.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return tab

    def _record_write(self, request: Any) -> None:
        if request.method not in ("GET", "HEAD"):
            self.writes.append({"method": request.method, "url": request.url, **request.headers})

    def assert_writes_are_not_simple(self) -> None:
        """Every write the page sent went to its own origin with the custom header (which
        makes it a non-simple request a cross-site page could not send without a preflight),
        and without a cookie."""
        for write in self.writes:
            assert write["url"].startswith(self.base + "/"), write
            assert write.get("x-requested-with") == "assetstore-ui", write
            assert "cookie" not in write, write

    def goto(self, path: str) -> Any:
        """Open ``path`` of the UI's server; returns the response."""
        return self.page.goto(self.base + path)

    def shoot(self, name: str, *, full_page: bool = True) -> Path:
        """A PNG screenshot of the page, named ``name``."""
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        return path

    def assert_clean(self) -> None:
        """No script error, no alert, no Content-Security-Policy violation, and only writes
        that are not simple cross-site requests."""
        self.assert_writes_are_not_simple()
        assert self.errors == [], f"script errors: {self.errors}"
        assert self.alerts == [], f"alerts: {self.alerts}"
        assert self.violations == [], f"CSP violations: {self.violations}"


try:  # the browser fixture skips (or in CI fails) with the reason when this is missing
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - only without the dev extra
    expect = None


def seed_versions(store: AssetStore) -> dict[str, bytes]:
    """org/resnet in four versions over two tags, and two other assets; returns each
    uploaded URI's bytes."""
    files: dict[str, bytes] = {}
    for version, tag, created_order in (
        ("1.9", "stable", 0),
        ("0.5", "dev", 1),
        ("1.10", "stable", 2),
        ("2.0.0-rc.1", "stable", 3),
    ):
        data = f"resnet {version} {tag} weights ".encode() * (50 + created_order)
        asset = store.upload(
            data,
            name="org/resnet",
            version=version,
            tag=tag,
            metadata={"framework": "pytorch", "epochs": 10 + created_order},
            tags=["image", "cnn"],
            filename=f"resnet-{version}.pt",
        )
        files[asset.asset_uri] = data
    other = store.upload(
        b"bert", name="org/bert", version="1.0", tag="stable", tags=["text"], metadata={}
    )
    files[other.asset_uri] = b"bert"
    policy = store.upload(
        b"package authz", name="policies/authz", version="3", tag="prod", tags=["policy"]
    )
    files[policy.asset_uri] = b"package authz"
    return files

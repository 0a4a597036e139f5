"""Rendering: the Jinja2 environment (autoescaping every value), the security headers of
every page, and the ``Server-Timing`` header that says where a page's time went."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from assetstore._version import __version__

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: Scripts and styles only from this origin's files (no inline script, no inline style, no
#: eval), fetches only to this origin, no framing, forms only to this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def path_quote(text: str) -> str:
    """``text`` percent-encoded for a URL path (``/`` and ``:`` kept, as the API takes URIs)."""
    return quote(text, safe="/:@")


def human_size(size: Any) -> str:
    """``1536`` as ``1.5 KiB``; anything not a number as an empty string."""
    if not isinstance(size, int) or isinstance(size, bool):
        return ""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # not reached


def name_search(name: str) -> str:
    """The search-box text that finds exactly the assets named ``name``."""
    return json.dumps({"asset_name": name}, ensure_ascii=False)


def as_json(value: Any) -> str:
    """A metadata value as readable JSON text (escaped like any text when rendered)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        path_quote=path_quote, human_size=human_size, as_json=as_json, name_search=name_search
    )
    env.globals.update(version=__version__, urlencode=urlencode)
    return env


ENVIRONMENT = _environment()


class Timings:
    """Where a page's server time went, for ``Server-Timing`` (e.g. ``query;dur=12.5``)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float]] = []

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Time the block as ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.spans.append((name, (time.perf_counter() - started) * 1000))

    def header(self) -> str:
        """The ``Server-Timing`` header value."""
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in self.spans)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    timings: Timings | None = None,
) -> HTMLResponse:
    """The page ``template`` with ``context`` (every value escaped unless the template says
    otherwise, which none does), with the security headers and ``Server-Timing``."""
    timings = timings or Timings()
    state = request.app.state
    root = request.scope.get("root_path", "")
    with timings.span("render"):
        html = ENVIRONMENT.get_template(template).render(
            request=request,
            ui=root + "/ui",
            api=root,
            serves_assets=state.store is not None,
            serves_registry=state.registry is not None,
            writes_need_token=state.settings.token is not None,
            **context,
        )
    headers = {**SECURITY_HEADERS, "Server-Timing": timings.header()}
    return HTMLResponse(html, status_code=status, headers=headers)


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "STATIC",
    "Timings",
    "as_json",
    "human_size",
    "path_quote",
    "render",
]

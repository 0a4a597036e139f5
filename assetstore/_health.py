"""Health checks of registered stores: ``GET {public_url}/health``, safely.

A registry is told URLs by its users and then calls them, so a check goes through
:mod:`assetstore._outbound`: only ``http`` and ``https``, only addresses the
:class:`~assetstore._outbound.AddressPolicy` permits (connecting to the very address it
checked), no redirects, one deadline for the whole call (connect, headers, body: a peer that
drips its answer cannot hold it longer) and at most ``max_body`` bytes read.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from assetstore._outbound import AddressPolicy, CallLimits, Connection, redact_addresses
from assetstore.errors import BackendUnavailableError, HealthCheckRefusedError
from assetstore.models import HealthReport


def health_url(public_url: str) -> str:
    """``{public_url}/health``."""
    return f"{public_url.rstrip('/')}/health"


def check_store_health(
    registry_id: str, public_url: str, policy: AddressPolicy, limits: CallLimits
) -> HealthReport:
    """Call ``{public_url}/health`` under ``policy`` within ``limits`` and report. Never
    raises for the remote's failures: they are the report (``unreachable``, ``unhealthy``,
    ``refused``)."""
    url = health_url(public_url)
    report: dict[str, Any] = {"asset_registry_id": registry_id, "url": url}
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        return HealthReport(**report, status="refused", error=f"invalid URL: {exc}")
    if not valid:
        return HealthReport(
            **report, status="refused", error="only http:// and https:// URLs can be health-checked"
        )
    started = time.perf_counter()
    try:
        connection = Connection(
            public_url.rstrip("/"),
            timeout=limits.connect_timeout,
            total_timeout=limits.total_timeout,
            policy=policy,
            max_body=limits.max_body,
            user_agent="assetstore-health/1",
        )
    except (ValueError, httpx.InvalidURL) as exc:
        return HealthReport(**report, status="refused", error=f"invalid URL: {exc}")
    try:
        reply = connection.request(
            "GET", "/health", truncate=True, headers={"Accept": "application/json"}
        )
    except HealthCheckRefusedError as exc:
        return HealthReport(**report, status="refused", error=str(exc))
    except BackendUnavailableError as exc:
        return HealthReport(
            **report,
            status="unreachable",
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            error=redact_addresses(str(exc), url),
        )
    finally:
        connection.close()
    healthy = 200 <= reply.status_code < 300
    error = None
    if not healthy:
        error = f"HTTP {reply.status_code}"
        if 300 <= reply.status_code < 400:
            error += f" redirect to {reply.headers.get('location')}"
        error = redact_addresses(error, url)
    return HealthReport(
        **report,
        status="healthy" if healthy else "unhealthy",
        http_status=reply.status_code,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        response=_decode(reply.content),
        error=error,
    )


def _decode(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


__all__ = ["check_store_health", "health_url"]

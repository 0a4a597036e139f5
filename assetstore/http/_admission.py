"""Admission: work that may take long runs a bounded number at a time, so it cannot take
every worker thread and the rest of the service (``/health``, reads, writes) keeps answering.

Two kinds of requests are admitted through a gate of their own:

* **queries** (``POST /assets``, ``POST /asset_registries``): CPU work, ``query_workers`` at
  once; each runs under :func:`assetstore.query.time_limit` (``query_time_limit`` seconds
  of evaluation, like MongoDB's ``maxTimeMS``), so it ends with a 400
  ``QueryTimeoutError`` when over it.
* **outbound** (``GET /check_health/{id}``, ``POST /asset_registries/search``, ``POST
  /asset_registry`` with its health check): calls to registered stores, ``outbound_workers``
  at once (each also bounded by its own deadline).

The web interface's pages that do the same work go through the same gates: its asset and
registry lists are queries, its health checks and federated search are outbound.

A request waits for its turn without holding a thread, and its JSON body is read before it
takes a place (up to ``max_query_bytes``; the route refuses a larger one), so a client that
sends slowly holds no place either; nor does one that reads slowly: while an answer waits to
be sent the request gives its place back, and takes one again to go on. One that waits
longer than ``queue_timeout`` for its first turn gets a 503 with ``Retry-After``. Every other
request passes straight through.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetstore.errors import ServiceBusyError
from assetstore.http._errors import response_for
from assetstore.query import time_limit
from assetstore.settings import ServiceSettings

QUERIES = "queries"
OUTBOUND = "outbound"
_QUERY_POSTS = frozenset({"/assets", "/assets/export", "/asset_registries"})
_OUTBOUND_POSTS = frozenset({"/asset_registries/search", "/asset_registry"})
_QUERY_PAGES = frozenset({"/ui", "/ui/", "/ui/registry", "/ui/registry/"})
_OUTBOUND_PAGES = ("/check_health/", "/ui/registry/health/", "/ui/registry/search")


def kind_of(method: str, path: str) -> str | None:
    """Which gate a request goes through, if any."""
    if method == "POST":
        if path in _QUERY_POSTS:
            return QUERIES
        if path in _OUTBOUND_POSTS:
            return OUTBOUND
    elif method in ("GET", "HEAD"):
        if path in _QUERY_PAGES:
            return QUERIES
        if path.startswith(_OUTBOUND_PAGES):
            return OUTBOUND
    return None


@dataclass
class _Gate:
    capacity: int
    slots: anyio.Semaphore


class Admission:
    """ASGI middleware admitting queries and outbound work through bounded gates, with the
    app's current settings (a changed capacity takes effect for new requests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Per event loop: a semaphore belongs to the loop it first waited in.
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Gate]] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self, kind: str, capacity: int) -> _Gate:
        gates = self._gates.setdefault(asyncio.get_running_loop(), {})
        gate = gates.get(kind)
        if gate is None or gate.capacity != capacity:
            gate = gates[kind] = _Gate(capacity, anyio.Semaphore(capacity))
        return gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"][len(scope.get("root_path", "")) :] or "/"
        kind = kind_of(scope["method"], path)
        if kind is None:
            await self.app(scope, receive, send)
            return
        settings: ServiceSettings = scope["app"].state.settings
        if _declared_length(scope) > settings.max_query_bytes:
            await self.app(scope, receive, send)  # refused from its Content-Length alone
            return
        capacity = settings.query_workers if kind == QUERIES else settings.outbound_workers
        gate = self._gate(kind, capacity)
        with time_limit(settings.query_time_limit if kind == QUERIES else None):
            body, receive = await _read_ahead(receive, settings.max_query_bytes)
            admitted = False
            with anyio.move_on_after(settings.queue_timeout):
                await gate.slots.acquire()
                admitted = True
            if not admitted:
                wait = max(1, math.ceil(settings.queue_timeout / 2))
                busy = ServiceBusyError(
                    f"too many {kind} in progress ({capacity} at once); retry in {wait} s",
                    retry_after=wait,
                )
                await response_for(busy)(scope, body, send)
                return
            holding = True

            async def send_without_holding(message: Message) -> None:
                nonlocal holding
                if message["type"] != "http.response.body" or not message.get("more_body"):
                    await send(message)
                    return
                gate.slots.release()  # a slow reader holds no place while we wait on it
                holding = False
                await send(message)
                await gate.slots.acquire()
                holding = True

            try:
                await self.app(scope, receive, send_without_holding)
            finally:
                if holding:
                    gate.slots.release()


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _read_ahead(receive: Receive, limit: int) -> tuple[Receive, Receive]:
    """Read the request body (at most ``limit`` + 1 bytes of it) before the request waits
    for its turn; returns two ``receive`` callables that replay it: one for an answer sent
    here, one for the application (which then reads the rest, if any, itself)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > limit:
            break

    def replay() -> Receive:
        pending = list(messages)

        async def next_message() -> Any:
            if pending:
                return pending.pop(0)
            return await receive()

        return next_message

    return replay(), replay()


__all__ = ["OUTBOUND", "QUERIES", "Admission", "kind_of"]

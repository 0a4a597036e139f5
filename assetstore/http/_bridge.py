"""Request bodies streamed from the event loop into a worker thread, under the upload limits.

An upload form (``POST /upload_asset``) and a batch form (``POST /batch/upload``,
``POST /batch/import``) both parse their body on the event loop and hand the file bytes to one
worker thread that writes them into the store. What they share is here:

* :class:`Bridge`: a small bounded queue of batches (about :data:`FLUSH_BYTES` each, at most
  :data:`QUEUE_DEPTH` waiting); when it is full the loop stops reading the socket, so memory
  stays flat whatever the size. A worker that waits ``upload_idle_timeout`` seconds for the
  next batch gives up (``idle``): a client trickling a byte a second cannot keep a worker.
* :class:`UploadLimits`: at most ``upload_workers`` workers stream at once, each reserving
  :data:`UPLOAD_RESERVATION` bytes of ``upload_buffer_bytes`` (which also counts the form's
  fields being received); a request that finds no room gets a 503 with ``Retry-After`` at
  once instead of queueing in memory.
* :func:`idle_limited`: the body's chunks, ending in a 408 once none has come for
  ``upload_idle_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.requests import Request

from assetstore.errors import RequestTimeoutError, ServiceBusyError
from assetstore.settings import ServiceSettings

#: File bytes handed to the worker at once, and how many such batches may wait in the queue.
FLUSH_BYTES = 1 << 20
QUEUE_DEPTH = 4
#: The most file bytes one request holds in memory (the batches in the queue, the one the
#: worker reads, the one being gathered): what it reserves from ``upload_buffer_bytes``.
UPLOAD_RESERVATION = (QUEUE_DEPTH + 2) * FLUSH_BYTES
#: A worker with nothing to do is handed what has arrived once it is this much: the rate
#: (per ``upload_idle_timeout``) below which a request loses its worker.
MIN_BATCH = 64 * 1024
#: Put in the queue by the loop: the body ended.
END = object()
_ABORT = object()


class UploadAborted(Exception):
    """Raised inside the worker when the request failed, went idle or the client went away."""


class Bridge:
    """Batches from the event loop to one worker thread (see the module docstring). The loop
    calls :meth:`put`, :meth:`abort` and :meth:`starving`; the worker calls :meth:`take` and,
    when it stops reading, :meth:`worker_done`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, idle_timeout: float) -> None:
        self._loop = loop
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)
        self._space = asyncio.Event()
        self._idle_timeout = idle_timeout
        self.aborted = False
        self.closed = False  # the worker stopped reading (finished or failed)
        self.idle = False  # the worker gave up waiting for data

    # event-loop side
    async def put(self, item: Any) -> None:
        while not self.closed:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                self._space.clear()
                if not self._queue.full():
                    continue
                await self._space.wait()

    def abort(self) -> None:
        self.aborted = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_ABORT)

    def starving(self) -> bool:
        """The worker has nothing queued to read."""
        return self._queue.empty()

    # worker side
    def _signal_space(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(self._space.set)

    def worker_done(self) -> None:
        self.closed = True
        self._signal_space()

    def take(self) -> Any:
        """The next item the loop put (a batch, or :data:`END`); :class:`UploadAborted` if
        the request was abandoned or nothing came for ``idle_timeout`` seconds."""
        try:
            item = self._queue.get(timeout=self._idle_timeout)
        except queue.Empty:
            self.idle = True
            raise UploadAborted(
                f"the upload handed its worker nothing for {self._idle_timeout:g} s"
            ) from None
        self._signal_space()
        if item is _ABORT or self.aborted:
            raise UploadAborted("the upload was abandoned")
        return item

    def idle_error(self) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"the upload did not send {MIN_BATCH} bytes (or the end of its file) within "
            f"{self._idle_timeout:g} s (upload_idle_timeout); nothing was kept"
        )


class UploadLimits:
    """What all uploads of one app hold at once: workers streaming (at most ``workers``,
    each reserving :data:`UPLOAD_RESERVATION` bytes) and memory (at most ``buffer_bytes``:
    the reservations and the form fields being received). Used from the event loop only."""

    def __init__(self, workers: int, buffer_bytes: int) -> None:
        self.workers = workers
        self.buffer_bytes = buffer_bytes
        self.streaming = 0
        self.held = 0

    def take(self, size: int, *, worker: bool = False) -> None:
        """Reserve ``size`` bytes (and a worker); :class:`ServiceBusyError` if either is
        not free: the upload is refused now rather than queued in memory."""
        if worker and self.streaming >= self.workers:
            raise ServiceBusyError(
                f"all {self.workers} upload workers are busy; retry later", retry_after=5
            )
        if self.held + size > self.buffer_bytes:
            raise ServiceBusyError(
                "uploads in progress hold all the memory they may (upload_buffer_bytes); "
                "retry later",
                retry_after=5,
            )
        self.held += size
        self.streaming += worker

    def give_back(self, size: int, *, worker: bool = False) -> None:
        self.held -= size
        self.streaming -= worker


class Reservation:
    """What one request holds of its app's :class:`UploadLimits`: a worker with its
    :data:`UPLOAD_RESERVATION`, and the bytes of the fields it has received so far."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.worker = False
        self.field_bytes = 0

    def hold_fields(self, held: int) -> None:
        """Charge (or give back) what the form's fields hold now."""
        if held > self.field_bytes:
            self.limits.take(held - self.field_bytes)
        elif held < self.field_bytes:
            self.limits.give_back(self.field_bytes - held)
        self.field_bytes = held

    def take_worker(self) -> None:
        self.limits.take(UPLOAD_RESERVATION, worker=True)
        self.worker = True

    def release_worker(self) -> None:
        if self.worker:
            self.worker = False
            self.limits.give_back(UPLOAD_RESERVATION, worker=True)

    def release(self) -> None:
        """Give back everything this request holds."""
        self.hold_fields(0)
        self.release_worker()


def upload_limits(app: FastAPI) -> UploadLimits:
    """The app's :class:`UploadLimits`, made on first use (anew when the settings change:
    uploads in progress keep the one they started with)."""
    settings: ServiceSettings = app.state.settings
    limits: UploadLimits | None = getattr(app.state, "upload_limits", None)
    if limits is None or (limits.workers, limits.buffer_bytes) != (
        settings.upload_workers,
        settings.upload_buffer_bytes,
    ):
        limits = UploadLimits(settings.upload_workers, settings.upload_buffer_bytes)
        app.state.upload_limits = limits
    return limits


def upload_executor(app: FastAPI) -> ThreadPoolExecutor:
    """The app's threads that stream uploads into the store (``upload_workers`` of them),
    made on first use; the app's lifespan shuts them down at exit."""
    executor: ThreadPoolExecutor | None = app.state.upload_executor
    if executor is None:
        executor = ThreadPoolExecutor(
            app.state.settings.upload_workers, thread_name_prefix="assetstore-upload"
        )
        app.state.upload_executor = executor
    return executor


async def idle_limited(request: Request, idle_timeout: float) -> AsyncIterator[bytes]:
    """The request's body chunks; :class:`RequestTimeoutError` once none has come for
    ``idle_timeout`` seconds."""
    chunks = request.stream().__aiter__()
    while True:
        try:
            with anyio.fail_after(idle_timeout):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeoutError(
                f"the upload sent nothing for {idle_timeout:g} s (upload_idle_timeout); "
                "nothing was kept"
            ) from None
        yield chunk


__all__ = [
    "END",
    "FLUSH_BYTES",
    "MIN_BATCH",
    "QUEUE_DEPTH",
    "UPLOAD_RESERVATION",
    "Bridge",
    "Reservation",
    "UploadAborted",
    "UploadLimits",
    "idle_limited",
    "upload_executor",
    "upload_limits",
]

"""An append-only journal of changes beside a JSON file, so a change costs one small durable
append instead of a durable rewrite of the whole file.

The file holds records, one per line: ``<JSON>\\t<crc32 of the JSON, 8 hex digits>\\n``.
The first record is a header ``{"base": N}``: the journal continues the file whose changes
up to sequence number N are already written in it. Every other record is one change,
``{"seq": n, ...}``, with n increasing by one.

A record counts only when its line is complete and its checksum matches, so a crash in the
middle of an append leaves a torn tail that readers ignore and the next writer cuts off.
Appends are fsynced before they count as done; a journal is replaced (when its changes have
been folded into the file) by writing the new one aside and renaming it over the old.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from assetstore._fileio import replace_durably
from assetstore.errors import IntegrityError

FileId = tuple[int, int]


def encode(record: dict[str, Any]) -> bytes:
    """One journal line."""
    payload = orjson.dumps(record)
    return b"%b\t%08x\n" % (payload, zlib.crc32(payload))


def decode(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The complete, intact records at the start of ``data``, and where they end."""
    records: list[dict[str, Any]] = []
    end = 0
    while True:
        newline = data.find(b"\n", end)
        if newline < 0:
            break
        line = data[end:newline]
        payload, tab, checksum = line.rpartition(b"\t")
        if not tab or len(checksum) != 8:
            break
        try:
            if int(checksum, 16) != zlib.crc32(payload):
                break
            record = orjson.loads(payload)
        except ValueError:
            break
        if not isinstance(record, dict):
            break
        records.append(record)
        end = newline + 1
    return records, end


@dataclass(frozen=True)
class JournalRead:
    """What a read of the journal found."""

    file_id: FileId | None  # None: there is no journal
    base: int  # the header's base sequence number (0 when there is no journal)
    records: list[dict[str, Any]] = field(default_factory=list)  # the change records read
    end: int = 0  # offset just past the last intact record
    size: int = 0  # the file's size (more than ``end`` means a torn tail)


class Journal:
    """The journal file at ``path``. Reads need no lock; appends and resets must be made
    under the writers' lock of the file the journal belongs to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._held: tuple[FileId, int] | None = None  # keeps the inode we read from alive

    def read(self, known: FileId | None = None, offset: int = 0) -> JournalRead:
        """Records from ``offset`` on if the journal is still the file ``known``, else the
        whole journal (header included)."""
        if known is not None:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return JournalRead(None, 0)
            if (stat.st_dev, stat.st_ino) == known and stat.st_size == offset:
                return JournalRead(known, 0, [], offset, offset)  # nothing new
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return JournalRead(None, 0)
        try:
            stat = os.fstat(fd)
            file_id = (stat.st_dev, stat.st_ino)
            if file_id != known:
                offset = 0
            data = os.pread(fd, max(0, stat.st_size - offset), offset)
        except BaseException:
            os.close(fd)
            raise
        self._hold(file_id, fd)
        records, consumed = decode(data)
        base = 0
        if offset == 0:
            if not records or "base" not in records[0]:
                if stat.st_size:
                    raise IntegrityError(f"{self.path} does not start with a journal header")
                return JournalRead(file_id, 0, [], 0, stat.st_size)
            base = int(records.pop(0)["base"])
        return JournalRead(file_id, base, records, offset + consumed, stat.st_size)

    def _hold(self, file_id: FileId, fd: int) -> None:
        with self._lock:
            old, self._held = self._held, (file_id, fd)
        if old is not None:
            os.close(old[1])

    def append(self, record: dict[str, Any], *, after: int) -> int:
        """Append ``record`` durably, first cutting off anything past ``after`` (a torn
        tail); return the new end. The journal must exist (see :meth:`reset`)."""
        line = encode(record)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            if os.fstat(fd).st_size != after:
                os.ftruncate(fd, after)
            try:
                view = memoryview(line)
                while view:  # after a short write, the next one reports why (ENOSPC, EFBIG)
                    written = os.write(fd, view)
                    if not written:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
                    view = view[written:]
                os.fsync(fd)
            except BaseException:
                # Not durable, so not committed: no reader may take it for a change.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, after)
                raise
        finally:
            os.close(fd)
        return after + len(line)

    def reset(self, base: int) -> JournalRead:
        """Replace the journal with an empty one continuing the file at ``base``."""
        header = encode({"base": base})
        fd, stat = replace_durably(self.path, header)
        file_id = (stat.st_dev, stat.st_ino)
        self._hold(file_id, fd)  # what a read of the new journal would hold and return
        return JournalRead(file_id, base, [], len(header), stat.st_size)

    def close(self) -> None:
        with self._lock:
            old, self._held = self._held, None
        if old is not None:
            os.close(old[1])

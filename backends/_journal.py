"""An append-only journal of changes beside a JSON file, so a change costs one small durable
append instead of a durable rewrite of the whole file.

**Format.** One record per line: ``<JSON>\\t<crc32 of the JSON, 8 hex digits>\\n``. The
first record is a header ``{"base": N}``: the journal continues the file whose changes up
to sequence number N are already written in it. Every other record is one change,
``{"seq": n, ...}``, n counting up by one from N + 1.

**Torn tail or damage** (:func:`decode`). A complete line (ending in a newline) whose
checksum matches is a record. An incomplete last line is a *torn tail*: an append cut
short by a crash or a full disk; it never counts and the next writer cuts it off. Anything
else is *damage*: a complete line that fails its checksum (so intact records may follow
it), a record out of sequence, a missing or damaged header, a last record whose newline
was changed into another byte. Damage is never taken for a torn tail and never cut off:
reads stop and report it (the file, the line, the byte) and writers refuse to append.

**Visibility.** An append holds an exclusive ``flock`` on the journal from its write until
its fsync has returned; readers hold a shared one while they read new bytes. So a reader
never sees a record before it is durable, and an append that fails is cut off before
anyone could see it. An fsync failure is fatal for the file (the kernel may have dropped
the pages it could not write: PostgreSQL's "fsyncgate"): the writer cuts its record off,
copies the durable records into a new journal file and never appends to the old one
again. Readers also check, on every read, that the bytes they already applied are still
where they left them (the last record's checksum), so a journal rewritten in place behind
the protocol's back is read again from its start, never misread.

A journal is replaced whole (when its changes have been folded into the file) by writing
the new one aside and renaming it over the old.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

import orjson

from assetstore._fileio import replace_durably
from assetstore.errors import DamageError

if sys.platform != "win32":
    import fcntl

FileId = tuple[int, int]
#: Every line ends with ``\t`` + 8 hex digits + ``\n``: a reader's anchor is these bytes
#: of the last record it read.
LINE_END_SIZE = 10
_log = logging.getLogger("assetstore")


def encode(record: dict[str, Any]) -> bytes:
    """One journal line."""
    payload = orjson.dumps(record)
    return b"%b\t%08x\n" % (payload, zlib.crc32(payload))


@dataclass(frozen=True)
class Damage:
    """One damaged line of a journal."""

    path: str
    line: int  # 1-based
    offset: int  # of the line's first byte
    reason: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line} (byte {self.offset}): {self.reason}"


class Entry(NamedTuple):
    """An intact change record and where it is."""

    record: dict[str, Any]
    line: int
    offset: int


@dataclass(frozen=True)
class Cursor:
    """Where a reader (or the writer) left off in one journal file."""

    file_id: FileId
    base: int  # the header's base
    end: int  # offset just past the last record read
    line: int  # complete lines up to ``end`` (the header included)
    seq: int  # sequence number of the last record read (``base`` if none)
    anchor: bytes  # the last LINE_END_SIZE bytes before ``end``


@dataclass
class Decoded:
    """What :func:`decode` found in a journal's bytes."""

    entries: list[Entry] = field(default_factory=list)  # intact, before any damage
    end: int = 0  # offset just past the last of them
    line: int = 0  # lines up to ``end``
    seq: int | None = None  # seq of the last of them (or the header's base)
    base: int | None = None  # the header's base, when the header was decoded
    torn: int = 0  # bytes of a torn tail past ``end`` (0 when there is damage)
    damage: list[Damage] = field(default_factory=list)
    intact_after: int = 0  # records that verify after the first damage


def _verify(line: bytes) -> tuple[dict[str, Any] | None, str]:
    payload, tab, checksum = line.rpartition(b"\t")
    if not tab or len(checksum) != 8:
        return None, "the line has no checksum"
    if checksum != b"%08x" % zlib.crc32(payload):  # exactly as written: lowercase hex
        return None, "the record does not match its checksum"
    try:
        record = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None, "the record is not JSON"
    if not isinstance(record, dict):
        return None, "the record is not a JSON object"
    return record, ""


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _record_with_damaged_end(rest: bytes) -> bool:
    """Whether an unterminated last line is a whole record followed by bytes where its
    newline should be (a torn append is a prefix of a line: it never has those)."""
    tab = rest.find(b"\t")
    if tab < 0 or len(rest) <= tab + 9:
        return False
    return _verify(rest[: tab + 9])[0] is not None


def decode(
    data: bytes, *, path: str = "", offset: int = 0, line: int = 0, seq: int | None = None
) -> Decoded:
    """Classify the journal bytes ``data`` (which start at byte ``offset`` of the file,
    after ``line`` complete lines). With ``seq`` None the data starts with the header;
    otherwise the next record must be ``seq + 1``."""
    found = Decoded(end=offset, line=line, seq=seq)
    expected = None if seq is None else seq + 1
    header_pending = seq is None
    pos = 0
    number = line
    while (newline := data.find(b"\n", pos)) >= 0:
        number += 1
        at = offset + pos
        record, why = _verify(data[pos:newline])
        pos = newline + 1
        if header_pending:
            header_pending = False
            if record is not None and (set(record) != {"base"} or not _is_int(record["base"])):
                record, why = None, "the first line is not a journal header"
            if record is not None:
                found.base = expected = record["base"]
                expected += 1
                if not found.damage:
                    found.end, found.line, found.seq = offset + pos, number, found.base
                continue
        elif record is not None:
            change = record.get("seq")
            if not _is_int(change):
                record, why = None, "the record has no sequence number"
            else:
                if expected is not None and change != expected:
                    record = None
                    why = f"change {change} where change {expected} was expected"
                expected = change + 1
        if record is None:
            found.damage.append(Damage(path, number, at, why))
            if why.startswith("the record does not") or why.startswith("the line has"):
                expected = None  # its sequence number is unknown: take the next one as it is
        elif found.damage:
            found.intact_after += 1
        else:
            found.entries.append(Entry(record, number, at))
            found.end, found.line, found.seq = offset + pos, number, record["seq"]
    rest = data[pos:]
    if header_pending:
        reason = "the header is incomplete" if rest else "the journal is empty: no header"
        found.damage.append(Damage(path, number + 1, offset + pos, reason))
    elif rest and not found.damage:
        if _record_with_damaged_end(rest):
            found.damage.append(
                Damage(path, number + 1, offset + pos, "the last record's line end is damaged")
            )
        else:
            found.torn = len(rest)
    return found


@dataclass(frozen=True)
class JournalRead:
    """What a read of the journal found."""

    cursor: Cursor | None  # None: there is no journal
    entries: list[Entry] = field(default_factory=list)  # the new intact records, in order
    from_start: bool = True  # the entries are the whole journal's (not past a cursor)
    torn: int = 0  # bytes of a torn tail past ``cursor.end``
    damage: list[Damage] = field(default_factory=list)
    intact_after: int = 0  # records that verify after the first damage


@contextlib.contextmanager
def _flocked(fd: int, exclusive: bool) -> Iterator[None]:
    """An advisory lock on the open file ``fd`` (per open file, so threads exclude each
    other too); a no-op where ``flock`` does not exist."""
    if sys.platform == "win32":
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _write_all(fd: int, data: bytes, path: Path) -> None:
    view = memoryview(data)
    while view:  # after a short write, the next one reports why (ENOSPC, EFBIG)
        written = os.write(fd, view)
        if not written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        view = view[written:]


class Journal:
    """The journal file at ``path``. Reads need no lock of the caller's; appends and
    resets must be made under the writers' lock of the file the journal belongs to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._held: tuple[FileId, int] | None = None  # keeps the inode we read from alive

    def read(self, cursor: Cursor | None = None) -> JournalRead:
        """The records past ``cursor`` if the journal is still that file and still holds
        what was read there; otherwise the whole journal. Check ``damage`` first: with
        damage the cursor may be None although the file exists."""
        if cursor is not None:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return JournalRead(None)
            if (stat.st_dev, stat.st_ino) == cursor.file_id and stat.st_size == cursor.end:
                return JournalRead(cursor, from_start=False)  # nothing new
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return JournalRead(None)
        try:
            with _flocked(fd, exclusive=False):  # waits until an append is durable
                stat = os.fstat(fd)
                file_id = (stat.st_dev, stat.st_ino)
                start = 0
                continuing = (
                    cursor is not None and cursor.file_id == file_id and stat.st_size >= cursor.end
                )
                if continuing:
                    assert cursor is not None
                    start = cursor.end - len(cursor.anchor)
                    data = os.pread(fd, stat.st_size - start, start)
                    continuing = data.startswith(cursor.anchor)  # else: rewritten in place
                if not continuing:
                    start = 0
                    data = os.pread(fd, stat.st_size, 0)
        except BaseException:
            os.close(fd)
            raise
        self._hold(file_id, fd)
        path = str(self.path)
        if continuing:
            assert cursor is not None
            found = decode(
                data[len(cursor.anchor) :],
                path=path,
                offset=cursor.end,
                line=cursor.line,
                seq=cursor.seq,
            )
            base = cursor.base
        else:
            found = decode(data, path=path)
            if found.base is None:  # no usable header
                return JournalRead(None, damage=found.damage, intact_after=found.intact_after)
            base = found.base
        assert found.seq is not None
        anchor = data[found.end - start - LINE_END_SIZE : found.end - start]
        return JournalRead(
            Cursor(file_id, base, found.end, found.line, found.seq, anchor),
            found.entries,
            not continuing,
            found.torn,
            found.damage,
            found.intact_after,
        )

    def _hold(self, file_id: FileId, fd: int) -> None:
        with self._lock:
            old, self._held = self._held, (file_id, fd)
        if old is not None:
            os.close(old[1])

    def append(self, record: dict[str, Any], *, after: Cursor, torn: int = 0) -> Cursor:
        """Append change ``record`` (its seq the next after ``after.seq``) durably and
        return the new cursor. ``torn`` bytes past ``after.end`` (a torn tail, as a read
        under the writers' lock found) are cut off first. On failure nothing was appended;
        after an fsync failure the journal has moved to a new file."""
        if record.get("seq") != after.seq + 1:
            raise ValueError(f"change {record.get('seq')} cannot follow change {after.seq}")
        line = encode(record)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            with _flocked(fd, exclusive=True):
                stat = os.fstat(fd)
                if (stat.st_dev, stat.st_ino) != after.file_id or stat.st_size != after.end + torn:
                    raise DamageError(
                        f"{self.path} changed while the writers' lock was held: another "
                        "program writes to it; nothing was appended"
                    )
                if torn:
                    os.ftruncate(fd, after.end)  # an append cut short: no reader counted it
                try:
                    _write_all(fd, line, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, after.end)
                    raise
                try:
                    os.fsync(fd)
                except BaseException as exc:
                    # Not durable, so not committed. No reader has seen it (we hold the
                    # lock), so cutting it off undoes it for everyone.
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, after.end)
                    if isinstance(exc, OSError):
                        self._move_to_new_file(after.end)
                    raise
        finally:
            os.close(fd)
        end = after.end + len(line)
        return Cursor(
            after.file_id, after.base, end, after.line + 1, after.seq + 1, line[-LINE_END_SIZE:]
        )

    def _move_to_new_file(self, end: int) -> None:
        """After an fsync failure: copy the journal's durable records (its first ``end``
        bytes) into a new file renamed over it, so nothing is ever appended to a file whose
        writeback failed. If that fails too, the old file stays (its failed record cut
        off) and the error is logged: the caller's error is the fsync's."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                durable = os.pread(fd, end, 0)
            finally:
                os.close(fd)
            if len(durable) == end:
                new_fd, _ = replace_durably(self.path, durable)
                os.close(new_fd)
        except OSError as exc:
            _log.error("could not move %s to a new file after an fsync error: %s", self.path, exc)

    def reset(self, base: int) -> Cursor:
        """Replace the journal with an empty one continuing the file at ``base``."""
        header = encode({"base": base})
        fd, stat = replace_durably(self.path, header)
        file_id = (stat.st_dev, stat.st_ino)
        self._hold(file_id, fd)  # what a read of the new journal would hold
        return Cursor(file_id, base, len(header), 1, base, header[-LINE_END_SIZE:])

    def close(self) -> None:
        with self._lock:
            old, self._held = self._held, None
        if old is not None:
            os.close(old[1])


__all__ = ["Cursor", "Damage", "Entry", "Journal", "JournalRead", "decode", "encode"]

"""Resumable writes of local blobs: a partial file that outlives its process.

The partial file is ``.tmp/resume-<key>`` under the store's root, named after the key, so the
next attempt at the same key finds it. It is locked (``flock``) while a process writes it: a
second writer is refused at once rather than interleaving bytes. Appends are not fsynced as
they go; a machine crash may leave garbage at the end of the partial file, which the caller
detects (it hashes the kept bytes again and checks the whole file's sha256 before it
commits) and starts over. ``gc`` removes partial files abandoned for longer than its grace
period, like any other temporary file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from assetstore._fileio import ensure_dir, fsync_dir
from assetstore.errors import AlreadyExistsError, BackendUnavailableError
from assetstore.ports import ResumableWrite

#: Bytes read back per call when the kept bytes are hashed again.
READ_BACK = 4 << 20


class LocalResumableWrite(ResumableWrite):
    """A resumable write of ``root/key`` through ``root/tmp_prefix/resume-<key>``."""

    def __init__(self, root: Path, key: str, tmp_prefix: str) -> None:
        self._key = key
        self._target = root / key
        tmp_dir = root / tmp_prefix
        ensure_dir(tmp_dir)
        self._path = tmp_dir / f"resume-{key.replace('/', '_')}"
        self._fd = self._open_locked()
        self.offset = os.fstat(self._fd).st_size

    def _open_locked(self) -> int:
        """The partial file, opened and locked; reopened if another writer committed or
        aborted it (and so unlinked it) between our open and our lock."""
        while True:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise BackendUnavailableError(
                    f"blob {self._key!r} is being written by another process; try again later"
                ) from None
            try:
                same = os.stat(self._path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def kept(self) -> Iterator[bytes]:
        position = 0
        while position < self.offset:
            block = os.pread(self._fd, min(READ_BACK, self.offset - position), position)
            if not block:
                break
            position += len(block)
            yield block

    def append(self, chunks: Iterable[bytes]) -> None:
        os.lseek(self._fd, 0, os.SEEK_END)
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view) :]
            self.offset += len(chunk)

    def commit(self, *, sync: bool = True) -> int:
        size = os.fstat(self._fd).st_size
        if sync:
            os.fsync(self._fd)
        ensure_dir(self._target.parent)
        try:
            os.link(self._path, self._target)
        except FileExistsError as exc:
            raise AlreadyExistsError(f"blob {self._key!r} already exists") from exc
        os.unlink(self._path)
        if sync:
            fsync_dir(self._target.parent)
        self.close()
        return size

    def abort(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1


__all__ = ["LocalResumableWrite"]

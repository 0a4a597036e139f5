"""Durable local files: fsync a directory, replace a file atomically and durably, create
directories durably, flush a whole file system, and turn a path or ``file://`` URL into a
path. Shared by the local blob store, the TinyDB documents and their journal."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import uuid
from pathlib import Path


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syncfs  # noqa: B018 - probe for the symbol
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def fsync_dir(path: str | Path) -> None:
    """Make the entries of directory ``path`` (new, renamed or removed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(path: Path, payload: bytes) -> tuple[int, os.stat_result]:
    """Replace the file ``path`` with ``payload``, atomically and durably: a temp file beside
    it (``.<name>.<hex>.tmp``, given the old file's mode), fsynced, renamed over ``path``,
    then the directory fsynced.

    Returns the new file's descriptor, left open (it keeps the inode alive, so its number
    cannot be reused), and its stat. Before the rename an error removes the temp file;
    after it, the file is in place and only the directory fsync can fail."""
    directory = path.parent
    try:
        mode: int | None = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    tmp = directory / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        if mode is not None:
            os.fchmod(fd, mode)
        os.fsync(fd)
        stat = os.fstat(fd)
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        fsync_dir(directory)
    except BaseException:
        os.close(fd)
        raise
    return fd, stat


def ensure_dir(path: Path) -> None:
    """Create ``path`` and its missing parents, fsyncing each parent that gained an entry."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        fsync_dir(directory.parent)


def sync_filesystem(path: str | Path) -> None:
    """One ``syncfs`` of the file system holding ``path`` (``sync`` where it is missing);
    ``OSError`` if the kernel reports a failed writeback."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _LIBC is None:
            os.sync()
        elif _LIBC.syncfs(fd) != 0:
            code = ctypes.get_errno()
            if code != errno.ENOSYS:  # a failed writeback: the files may not be on disk
                raise OSError(code, f"syncfs of {path}: {os.strerror(code)}")
            os.sync()
    finally:
        os.close(fd)


def local_path(location: str | os.PathLike[str]) -> Path:
    """The directory or file a plain path or ``file://`` URL names."""
    text = os.fspath(location)
    if text.startswith("file://"):
        text = text[len("file://") :]
    return Path(text).expanduser()


__all__ = ["ensure_dir", "fsync_dir", "local_path", "replace_durably", "sync_filesystem"]

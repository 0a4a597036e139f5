"""What every :class:`~assetstore.contract.AssetStore` implementation can share: staging by
spooling to a temporary file, and verified downloads.

The in-process store and the HTTP client both build on :class:`BaseAssetStore`; a third-party
store may too. It keeps the contract module free of I/O code.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from assetstore._streams import CHUNK_SIZE, Digest, open_source
from assetstore.contract import AssetStore
from assetstore.errors import InvalidInputError
from assetstore.models import AssetObject, Progress, Source, StagedFile


def require_stored_file(asset: AssetObject) -> None:
    """``InvalidInputError`` unless the store holds the asset's file (not an external one)."""
    if asset.asset_source != "upload":
        raise InvalidInputError(
            f"asset {asset.asset_uri!r} is external: its file is at "
            f"{asset.asset_public_url or '(no URL)'}"
        )


class BaseAssetStore(AssetStore):
    """An :class:`AssetStore` with the shareable methods filled in: ``stage`` spools to a
    temporary file and ``publish`` uploads from it; ``download`` writes beside the target
    and renames once the bytes are verified. Stores that can write straight to their blob
    storage override ``stage``, ``publish`` and ``discard``."""

    def stage(
        self, source: Source, *, filename: str | None = None, progress: Progress | None = None
    ) -> StagedFile:
        digest = Digest(progress)
        with (
            open_source(source) as (chunks, source_name),
            tempfile.NamedTemporaryFile(prefix="assetstore-stage-", delete=False) as spool,
        ):
            try:
                for chunk in digest.wrap(chunks):
                    spool.write(chunk)
            except BaseException:
                os.unlink(spool.name)
                raise
        return StagedFile(
            spool.name,
            digest.size,
            digest.hexdigest(),
            os.path.basename(filename or source_name or ""),
        )

    def publish(
        self,
        staged: StagedFile,
        *,
        name: str,
        version: str,
        tag: str,
        metadata: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        content_type: str | None = None,
    ) -> AssetObject:
        try:
            return self.upload(
                staged.staging_id,
                name=name,
                version=version,
                tag=tag,
                metadata=metadata,
                tags=tags,
                filename=staged.filename or None,
                content_type=content_type,
            )
        finally:
            self.discard(staged)

    def discard(self, staged: StagedFile) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.staging_id)

    def download(
        self,
        uri: str,
        dest: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Write the file to ``dest``: a directory (an existing one, or any path ending in
        ``/``, created with its parents) gets the asset's original file name, anything else
        is the file's path. The bytes go to a temporary file beside the target, created with
        the process's umask as ``cp`` would, and are renamed into place once verified.
        Problems with the destination are the natural ``OSError`` naming the path given."""
        asset = self.get(uri)
        target = destination(dest, asset)
        fd, partial = _partial_file(target)
        try:
            buffer = memoryview(bytearray(CHUNK_SIZE))
            with os.fdopen(fd, "wb") as out, self.open_asset(asset) as reader:
                readinto = cast("io.RawIOBase", reader).readinto
                while count := readinto(buffer):
                    out.write(buffer[:count])
                    if progress is not None:
                        progress(count)
            try:
                os.replace(partial, target)
            except OSError as exc:
                raise _about(exc, target) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        return target


def destination(dest: str | os.PathLike[str], asset: AssetObject) -> Path:
    """The file a download of ``asset`` to ``dest`` writes (see ``download``)."""
    text = os.fspath(dest)
    target = Path(text)
    wants_directory = text.endswith(("/", os.sep))
    if wants_directory:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _about(exc, text) from None
    if wants_directory or target.is_dir():
        name = os.path.basename(str(asset.asset_file_info.get("filename") or ""))
        if name in (".", "..") or "\x00" in name:  # the directory itself, or no path
            name = ""
        target = target / (name or asset.asset_id)
    return target


def _partial_file(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``. Its name does not grow with the target's
    (a 255-byte file name leaves no room for a prefix and a suffix), and it is created
    with mode 0666 less the umask, as the final file should be."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        partial = str(target.parent / f".assetstore-{secrets.token_hex(8)}.part")
        try:
            return os.open(partial, flags, 0o666), partial
        except FileExistsError:
            continue
        except OSError as exc:
            raise _about(exc, target) from None


def _about(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """``error`` about the path the user gave, not a temporary one."""
    return type(error)(error.errno, error.strerror or str(error), os.fspath(path))


__all__ = ["BaseAssetStore", "require_stored_file"]

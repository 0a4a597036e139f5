"""What every :class:`~assetstore.contract.AssetStore` implementation can share: staging by
spooling to a temporary file, and verified downloads.

The in-process store and the HTTP client both build on :class:`BaseAssetStore`; a third-party
store may too. It keeps the contract module free of I/O code.
"""

from __future__ import annotations

import contextlib
import io
import os
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
        asset = self.get(uri)
        target = Path(dest)
        if target.is_dir():
            name = os.path.basename(str(asset.asset_file_info.get("filename") or ""))
            if name in (".", "..") or "\x00" in name:  # the directory itself, or no path
                name = ""
            target = target / (name or asset.asset_id)
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        try:
            buffer = memoryview(bytearray(CHUNK_SIZE))
            with os.fdopen(fd, "wb") as out, self.open_asset(asset) as reader:
                readinto = cast("io.RawIOBase", reader).readinto
                while count := readinto(buffer):
                    out.write(buffer[:count])
                    if progress is not None:
                        progress(count)
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return target


__all__ = ["BaseAssetStore", "require_stored_file"]

"""``store.json``: the file beside a store's blobs that records its ``assets_db_id``, and
whether files were ever published into it.

The id is made once, by the first opener (a write that fails if the file exists, so
concurrent openers agree on the first one written), and never made again for a store that
already holds assets: a lost ``store.json`` is damage, not a new store. ``has_files``
turns true at the first published file; ``gc`` uses it to tell a store whose metadata was
lost (files were published, no record is left) from a new store whose first upload failed
(its file was never named by a record). A ``store.json`` without the field (written before
it existed) counts as having files.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from assetstore.errors import AlreadyExistsError, DamageError, IntegrityError
from assetstore.ports import BlobStore

#: The file (beside the blobs) that records the store's identity.
IDENTITY_KEY = "store.json"
_log = logging.getLogger("assetstore")


class StoreIdentity:
    """The ``store.json`` of the store whose blobs are ``blobs``."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self._files_noted = False

    def read(self) -> dict[str, Any] | None:
        """The file's content, None if there is none; :class:`DamageError` if unreadable."""
        try:
            with self._blobs.open(IDENTITY_KEY) as file:
                raw = file.read()
        except FileNotFoundError:
            return None
        try:
            data = orjson.loads(raw)
            problem = "" if isinstance(data.get("assets_db_id"), str) else "no assets_db_id"
        except (orjson.JSONDecodeError, AttributeError) as exc:
            data, problem = None, str(exc) or "not a JSON object"
        if problem or not isinstance(data, dict) or not data["assets_db_id"]:
            raise DamageError(
                f"{IDENTITY_KEY} in {self._blobs.url} is damaged ({problem or 'empty id'}): "
                'write {"assets_db_id": "<id>"} into it (the assets_db_id its assets carry), '
                "or open the store with assets_db_id="
            )
        return data

    def establish(self, configured: str | None, holds_assets: Callable[[], bool]) -> str:
        """The store's id: ``configured`` if given, else the recorded one, else a new one
        recorded now, unless ``holds_assets()``: then ``store.json`` was lost, and a new id
        would split the store in two (:class:`DamageError`, saying how to recover)."""
        if configured:
            return configured
        for _ in range(3):
            data = self.read()
            if data is None and holds_assets():
                data = self.read()  # another opener may have just created it
                if data is None:
                    raise DamageError(
                        f"{IDENTITY_KEY} is missing from {self._blobs.url}, which holds assets: "
                        'write {"assets_db_id": "<id>"} back into it (the assets_db_id its '
                        "assets carry), or open the store with assets_db_id=; a new id would "
                        "split the store in two"
                    )
            if data is not None:
                return str(data["assets_db_id"])
            new_id = uuid.uuid4().hex
            new = {"assets_db_id": new_id, "has_files": False}
            with contextlib.suppress(AlreadyExistsError):
                self._blobs.write(IDENTITY_KEY, [orjson.dumps(new)], overwrite=False)
                return new_id
        raise IntegrityError(f"cannot read or create {IDENTITY_KEY} in {self._blobs.url}")

    def files_published(self) -> bool:
        """Whether a file was ever published into the store (True when unknown)."""
        data = self.read()
        return data is None or data.get("has_files") is not False

    def note_files_published(self) -> None:
        """Record that a file was published (once; a failure is logged, not raised: the
        publish that calls this has already happened)."""
        if self._files_noted:
            return
        try:
            data = self.read()
            if data is not None and data.get("has_files") is False:
                updated = {**data, "has_files": True}
                self._blobs.write(IDENTITY_KEY, [orjson.dumps(updated)], overwrite=True)
            self._files_noted = True
        except OSError as exc:
            _log.warning("could not note in %s that files were published: %s", IDENTITY_KEY, exc)


__all__ = ["IDENTITY_KEY", "StoreIdentity"]

"""``store.json``: the file beside a store's blobs that records its ``assets_db_id``, and
whether a record was ever committed to the store.

The id is made once, by the first opener (a write that fails if the file exists, so
concurrent openers agree on the first one written), and never made again for a store that
already holds assets: a lost ``store.json`` is damage, not a new store. ``has_records``
turns true once the first record is committed. It tells a store whose metadata was lost
(records were committed, none is left and the metadata has no history) from a new store,
whose first upload may even have failed and left a file no record names. A ``store.json``
without the field (written before it existed) leaves it unknown: the caller says what
that counts as.
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
        self._records_known = False

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
            new = {"assets_db_id": new_id, "has_records": False}
            with contextlib.suppress(AlreadyExistsError):
                self._blobs.write(IDENTITY_KEY, [orjson.dumps(new)], overwrite=False)
                return new_id
        raise IntegrityError(f"cannot read or create {IDENTITY_KEY} in {self._blobs.url}")

    def has_records(self, *, if_unknown: bool) -> bool:
        """Whether a record was ever committed to the store (``if_unknown`` for a
        ``store.json`` older than the field)."""
        if self._records_known:
            return True
        data = self.read()
        known = data.get("has_records") if data is not None else None
        self._records_known = known is True
        return if_unknown if known is None else bool(known)

    def note_records(self) -> None:
        """Record that a record was committed (written once in the store's life; a failure
        is logged, not raised: the commit that calls this has already happened)."""
        if self._records_known:
            return
        try:
            data = self.read()
            if data is not None and data.get("has_records") is not True:  # False, or older
                updated = {**data, "has_records": True}
                self._blobs.write(IDENTITY_KEY, [orjson.dumps(updated)], overwrite=True)
            self._records_known = True
        except OSError as exc:
            _log.warning("could not note in %s that records exist: %s", IDENTITY_KEY, exc)


__all__ = ["IDENTITY_KEY", "StoreIdentity"]

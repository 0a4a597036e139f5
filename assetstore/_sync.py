"""``assetstore.sync``: copy the assets of one store to another, any two of a local directory,
``memory://``, ``s3://`` (with its metadata) and ``http(s)://`` (a served store).

>>> report = assetstore.sync("https://assets.example.com", "./assets", {"asset_tags": "prod"})
>>> report.copied, report.skipped, report.conflicts

What a copy keeps and what it changes:

* **Identity.** URI, name, version, tag, metadata, tags, ``asset_id``, the file (size,
  sha256, file name and type) and ``created_at`` are the source's; ``assets_db_id``,
  ``revision`` and a stored file's download URL are the destination's own.
* **Provenance.** ``asset_origin`` says where the copy came from: ``assets_db_id`` of the
  store that first published the asset (kept across several hops), ``copied_from`` (the
  store read: its ``assets_db_id``, its location without credentials, and the asset's
  revision there) and ``copied_at``. Query it like any field:
  ``{"asset_origin.copied_from.assets_db_id": "..."}``.
* **Incremental.** An asset whose URI exists at the destination with the same content is
  skipped: a second run with nothing new copies nothing. The same URI with other content
  is a conflict, never overwritten: ``on_conflict`` says what happens (see
  :mod:`assetstore._sync_plan`).
* **Atomic per asset, resumable.** Each transfer is one ``import_assets`` call, all or
  nothing; an interrupted sync (Ctrl-C, a killed process, a network drop) leaves only whole
  assets at the destination, and running it again completes it. A large file continues
  where it stopped when the destination keeps partial writes (a local directory; reading
  the rest from any source by offset: a seek, an S3 ranged GET or an HTTP ``Range``); on
  ``memory://``, S3 and HTTP destinations it starts over.
* **Verified.** The destination checks every file's size and sha256 against its record
  as the bytes come in (the source checks them as they go out, where it can).
* External assets (a public URL, no stored file) are copied as records only.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from typing import Any

from assetstore._sync_plan import ON_CONFLICT, OnConflict
from assetstore._sync_report import (
    SyncConflict,
    SyncDetails,
    SyncFailure,
    SyncReport,
    describe_location,
    describe_store,
    report_of,
)
from assetstore._sync_run import Engine, Options, SyncProgress
from assetstore.contract import AssetStore
from assetstore.errors import AlreadyExistsError, InvalidInputError
from assetstore.models import Filter
from assetstore.open import open_store

#: Conflicts named in the message of a sync refused for them (all are in ``details``).
NAMED_CONFLICTS = 10


def sync(
    source: AssetStore | str | os.PathLike[str],
    destination: AssetStore | str | os.PathLike[str],
    filter: Filter | None = None,
    *,
    dry_run: bool = False,
    jobs: int = 4,
    on_conflict: OnConflict = "skip",
    delete: bool = False,
    progress: SyncProgress | None = None,
    source_options: Mapping[str, Any] | None = None,
    destination_options: Mapping[str, Any] | None = None,
) -> SyncReport:
    """Copy the assets of ``source`` matching ``filter`` to ``destination``; see the module
    docstring for what is kept, skipped and reported.

    ``source`` and ``destination`` are stores, or locations given to :func:`open_store` with
    ``source_options`` / ``destination_options`` (``metadata=``, ``token=``...; a token goes
    only to the store it is given for). ``jobs`` transfers run at once. ``on_conflict``:
    ``"skip"`` reports conflicts, ``"fail"`` raises ``AlreadyExistsError`` naming them
    before anything is copied, ``"overwrite-metadata"`` sets the destination's metadata and
    tags to the source's (never its file). ``delete`` removes the destination's assets
    matching ``filter`` that the source lacks. ``dry_run`` changes nothing and reports what
    would be done. ``progress`` is told of the work as it is found and done."""
    if on_conflict not in ON_CONFLICT:
        raise InvalidInputError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 64:
        raise InvalidInputError("jobs must be a number of transfers from 1 to 64")
    if filter is not None and not isinstance(filter, Mapping):
        raise InvalidInputError("the filter must be a JSON object")
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stores = []
        for given, options in ((source, source_options), (destination, destination_options)):
            if isinstance(given, AssetStore):
                stores.append((given, describe_store(given)))
            else:
                opened = stack.enter_context(open_store(given, **dict(options or {})))
                stores.append((opened, describe_location(given)))
        (src, src_where), (dst, dst_where) = stores
        if src.assets_db_id == dst.assets_db_id and src_where == dst_where:
            raise InvalidInputError(f"the source and the destination are one store ({src_where})")
        origin = {"assets_db_id": src.assets_db_id, "location": src_where}
        engine = Engine(
            src,
            dst,
            Options(dict(filter or {}), dry_run, jobs, on_conflict, delete),
            origin,
            progress,
        )
        if on_conflict == "fail":
            found = engine.conflicts()
            if found:
                named = ", ".join(f"{c.asset_uri} ({c.reason})" for c in found[:NAMED_CONFLICTS])
                more = f" and {len(found) - NAMED_CONFLICTS} more" if len(found) > 10 else ""
                raise AlreadyExistsError(
                    f"{len(found)} URI(s) hold other content at {dst_where}: {named}{more}; "
                    "nothing was copied"
                )
        tally = engine.run()
    return report_of(tally, src_where, dst_where, dry_run, on_conflict, started)


__all__ = [
    "SyncConflict",
    "SyncDetails",
    "SyncFailure",
    "SyncProgress",
    "SyncReport",
    "describe_location",
    "sync",
]

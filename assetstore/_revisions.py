"""Compare-and-swap updates on ``revision``, shared by the asset store and the registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from assetstore._records import load_record
from assetstore.errors import NotFoundError, RevisionMismatchError
from assetstore.models import utc_now
from assetstore.ports import DocumentStore

Model = TypeVar("Model", bound=BaseModel)
#: How often an update without ``expected_revision`` re-reads and retries after losing a race.
ATTEMPTS = 20


def update_document(
    documents: DocumentStore,
    key: str,
    change: Callable[[Model], dict[str, Any]],
    *,
    model: type[Model],
    expected_revision: int | None,
    not_found: Callable[[], NotFoundError],
) -> Model:
    """Apply ``change`` (current record -> new document) with compare-and-swap.

    With ``expected_revision`` the change applies to that revision only; without it, a
    concurrent change makes us re-read and re-apply, so no one's change is lost. A change
    that alters nothing returns the record as it is (same revision, no write)."""
    for _ in range(ATTEMPTS):
        raw = documents.get(key)
        if raw is None:
            raise not_found()
        current = load_record(model, raw, documents)
        revision = current.revision  # type: ignore[attr-defined]
        if expected_revision is not None and revision != expected_revision:
            raise RevisionMismatchError(
                f"{key!r} is at revision {revision}, not {expected_revision}"
            )
        new_doc = change(current)
        if new_doc == current.model_dump(mode="json"):
            return current
        new_doc["revision"] = revision + 1
        new_doc["updated_at"] = utc_now()
        if documents.replace(key, new_doc, expected_revision=revision):
            return model.model_validate(new_doc)
        if expected_revision is not None:
            raise RevisionMismatchError(f"{key!r} changed while it was being updated")
    raise RevisionMismatchError(f"{key!r} kept changing; the update was not applied")


def delete_document(
    documents: DocumentStore,
    key: str,
    *,
    expected_revision: int | None,
    not_found: Callable[[], NotFoundError],
) -> dict[str, Any]:
    """Delete a document (at ``expected_revision`` if given) and return what it was."""
    raw = documents.get(key)
    if raw is None:
        raise not_found()
    revision = raw.get("revision")
    if expected_revision is not None and revision != expected_revision:
        raise RevisionMismatchError(f"{key!r} is at revision {revision}, not {expected_revision}")
    if not documents.delete(key, expected_revision=revision):
        if documents.get(key) is None:
            raise not_found()
        raise RevisionMismatchError(f"{key!r} changed while it was being deleted")
    return raw

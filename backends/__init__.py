"""Backends: the I/O behind the two ports of :mod:`assetstore.contract`.

Installed as ``assetstore.backends``. Each module does I/O only; everything else lives in the
core.

===========================  ===============================================================
module                       what it stores
===========================  ===============================================================
``fsspec_blobs``             blobs on any fsspec file system; durable local directories
``s3``                       blobs on S3-compatible servers (extra ``s3``)
``memory``                   documents in this process
``tinydb_documents``         documents in one TinyDB file, safe across processes and crashes
``mongo``                    documents in MongoDB (extra ``mongo``)
``_snapshots``               the snapshot logic the memory and TinyDB stores share
``_journal``                 the TinyDB file's append-only journal
===========================  ===============================================================

A backend imports only the ports (:mod:`assetstore.ports`), the errors and the core's shared
helpers; which class serves which scheme is :mod:`assetstore.schemes`.
"""

if __name__ != "assetstore.backends":
    # Run from the repository root, this folder would also import as a top-level package
    # "backends", and every module would exist twice (two classes, two registries...).
    raise ImportError(
        f"the backends folder is the package assetstore.backends; import that, not {__name__!r}"
    )


__all__ = []

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
``in_process``               the snapshot logic the memory and TinyDB stores share
===========================  ===============================================================
"""

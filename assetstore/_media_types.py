"""The media type recorded for an uploaded file (``asset_file_info.file_type``), from a
built-in table: the same answer on every machine, whatever its system MIME database says
(Debian's maps ``.pt`` to ``application/vnd.snesdev-page-table``).

Model formats with no registered media type (PyTorch, ONNX, safetensors, GGUF, TFLite,
pickles...) are ``application/octet-stream``: binary data, and no invented type. Anything not
in the table is ``application/octet-stream`` too. A caller who knows better passes
``content_type=`` (``assetstore put --content-type``).
"""

from __future__ import annotations

from typing import Final

OCTET_STREAM: Final = "application/octet-stream"

#: Suffix (lower case, with its dot) to media type; compound suffixes such as ``.tar.gz``
#: win over their last part.
MEDIA_TYPES: Final[dict[str, str]] = {
    # model weights and checkpoints: no registered type
    **dict.fromkeys(
        (
            ".pt",
            ".pth",
            ".ckpt",
            ".bin",
            ".onnx",
            ".safetensors",
            ".gguf",
            ".ggml",
            ".tflite",
            ".pb",
            ".mlmodel",
            ".pkl",
            ".pickle",
            ".joblib",
            ".npy",
            ".npz",
            ".keras",
        ),
        OCTET_STREAM,
    ),
    ".h5": "application/x-hdf5",
    ".hdf5": "application/x-hdf5",
    ".parquet": "application/vnd.apache.parquet",
    # policies and configuration
    ".rego": "text/plain",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".py": "text/x-python",
    # archives
    ".zip": "application/zip",
    ".tar": "application/x-tar",
    ".tar.gz": "application/gzip",
    ".tgz": "application/gzip",
    ".gz": "application/gzip",
    ".tar.bz2": "application/x-bzip2",
    ".bz2": "application/x-bzip2",
    ".tar.xz": "application/x-xz",
    ".xz": "application/x-xz",
    ".tar.zst": "application/zstd",
    ".zst": "application/zstd",
    ".7z": "application/x-7z-compressed",
    # images, audio, documents
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".pdf": "application/pdf",
}


def media_type(filename: str) -> str:
    """The media type of a file named ``filename`` (``application/octet-stream`` if the
    table does not know its suffix)."""
    name = filename.rsplit("/", 1)[-1].lower()
    parts = name.split(".")
    for start in range(1, len(parts)):  # the longest suffix first: .tar.gz before .gz
        found = MEDIA_TYPES.get("." + ".".join(parts[start:]))
        if found is not None:
            return found
    return OCTET_STREAM


__all__ = ["MEDIA_TYPES", "OCTET_STREAM", "media_type"]

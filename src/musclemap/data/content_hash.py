"""One content hash for every cache (optical flow here, poses in `musclemap.pose.cache`).

Caches key a video by its bytes, not its path: a renamed, moved or copied video reuses its entry,
and a file rewritten in place gets a new one.
"""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1 << 20  # read 1 MiB at a time: memory stays flat for multi-GB videos


def content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of the file's bytes.

    Raises:
        OSError: The file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

"""Processed-array cache: one .npz per key, written atomically, verified on load.

The key is a SHA-256 of every parameter that changes the arrays (plus a format version), so a
changed parameter never reuses stale arrays. Each file stores its own key and a digest of its
arrays; a file that cannot be read or whose digest differs is treated as absent and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("ganad")
FORMAT_VERSION = 1


def cache_key(params: dict[str, Any]) -> str:
    blob = json.dumps({"v": FORMAT_VERSION, **params}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(path: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    import io

    from ganad_cli.io import atomic_write_bytes

    meta = json.dumps({"key": key, "digest": _digest(arrays)})
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(meta), **arrays)
    atomic_write_bytes(Path(path), buf.getvalue())


def load(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None if absent, unreadable, for another key, or corrupt."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["__meta__"]))
            arrays = {k: f[k] for k in f.files if k != "__meta__"}
    except Exception as exc:  # any read failure means: rebuild
        log.warning("cache file %s is unreadable (%s); rebuilding it", path, exc)
        return None
    if meta.get("key") != key or meta.get("digest") != _digest(arrays):
        log.warning("cache file %s does not match its key or digest; rebuilding it", path)
        return None
    return arrays

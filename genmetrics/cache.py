"""A content-keyed cache of per-input statistics and features.

The key is a SHA-256 over everything that changes the result: the input's files with their sizes and
modification times (or, with ``hash_content``, their bytes), the extractor and its weights' SHA-256, the
resize protocol and input size, the layer (dims), whether logits were kept, ``skip_bad``, and
genmetrics' version. Changing, adding or removing one image changes the key, so stale entries are never
used (unlike caches keyed by a name). Entries are written atomically (temp file + ``os.replace``), so two
processes writing the same entry cannot corrupt it. Only path inputs are cached; arrays and iterables
are not. Location: ``$GENMETRICS_CACHE``, else ``$XDG_CACHE_HOME/genmetrics``, else ``~/.cache/genmetrics``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from ._version import __version__

ENV_CACHE = "GENMETRICS_CACHE"


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genmetrics"


def _file_identity(path: Path, hash_content: bool) -> list:
    """[size, mtime] or [SHA-256 of the bytes]; a file that cannot be read is the user's to fix."""
    import stat

    from .errors import GenmetricsError

    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # hashing a pipe blocks for ever, /dev/zero never ends
            raise GenmetricsError(f"{path} is not a regular file: remove it from the input")
        if not hash_content:
            return [info.st_size, info.st_mtime_ns]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return [digest.hexdigest()]
    except OSError as exc:
        raise GenmetricsError(f"{path}: cannot read it to key the cache ({exc.strerror or exc}); fix or remove "
                              f"the file, or pass --no-cache") from None


def input_identity(source, hash_content: bool = False) -> dict | None:
    """What identifies a path input's content; None for inputs that are not files (not cached)."""
    from .data.sources import ArraySource, FolderSource, ZipSource

    if isinstance(source, FolderSource):
        root = source.root
        files = [[name, *_file_identity(root / name if root.is_dir() else root, hash_content)]
                 for name in source.files]
        return {"kind": "folder", "root": str(root.resolve()), "files": files}
    if isinstance(source, ZipSource):
        return {"kind": "zip", "path": str(source.path.resolve()), "file": _file_identity(source.path, hash_content)}
    if isinstance(source, ArraySource) and Path(source.name).is_file():
        path = Path(source.name)
        return {"kind": "array", "path": str(path.resolve()), "file": _file_identity(path, hash_content)}
    return None


def key(kind: str, identity: dict, protocol: dict) -> str:
    """The entry name: SHA-256 of the input's identity, the protocol and the version."""
    blob = json.dumps({"kind": kind, "input": identity, "protocol": protocol, "version": __version__},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def entry_path(kind: str, digest: str) -> Path:
    return cache_dir() / f"{kind}-{digest}.npz"


def entries() -> list[dict]:
    """Every cached entry: kind, file, size and the input it was made from."""
    import numpy as np

    found = []
    for path in sorted(cache_dir().glob("*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["genmetrics_meta"])) if "genmetrics_meta" in data.files else {}
        except (ValueError, OSError, KeyError):
            meta = {}
        found.append({"kind": path.name.split("-")[0], "file": str(path), "bytes": path.stat().st_size,
                      "source": meta.get("source", ""), "n": meta.get("n")})
    return found


def clear() -> int:
    """Remove every entry; returns how many there were."""
    count = len(list(cache_dir().glob("*.npz")))
    if cache_dir().exists():
        shutil.rmtree(cache_dir())
    return count

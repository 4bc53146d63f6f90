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

import contextlib
import hashlib
import json
import os
import re
import warnings
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


# genmetrics' own files, the only ones list and clear touch ($GENMETRICS_CACHE may hold anything else):
# entries ``{kind}-{sha256}.npz``, resume files ``{kind}-{sha256}.partial.npz``, and the temporary files
# of atomic_write, ``.{entry name}.{mkstemp's random letters, digits and _}.tmp``.
ENTRY_NAME = re.compile(r"^([a-z]+)-[0-9a-f]{64}(\.partial)?\.npz$")
TEMP_NAME = re.compile(r"^\.[a-z]+-[0-9a-f]{64}(\.partial)?\.npz\.[a-z0-9_]+\.tmp$")


class CacheWarning(UserWarning):
    """The cache could not be used (or held a damaged entry): the result is computed, not lost."""


_unusable: set[str] = set()  # cache folders already warned about, so that each is reported once


def warn_unusable(action: str, exc: OSError) -> None:
    """Warn (once per folder) that the cache cannot be read or written; the caller carries on without it."""
    folder = str(cache_dir())
    if folder in _unusable:
        return
    _unusable.add(folder)
    reason = exc.strerror or str(exc)
    warnings.warn(f"the cache folder {folder} cannot be {action} ({reason}); continuing without the cache "
                  f"(point ${ENV_CACHE} at a writable folder, or pass --no-cache)", CacheWarning, stacklevel=3)


def read_entry(path: Path, reader):
    """``reader(path)`` for an entry that exists, else None. A damaged entry is reported, removed and
    None returned (the caller recomputes it); an unreadable cache is a warning."""
    from ._io import NPZ_READ_ERRORS
    from .errors import GenmetricsError

    try:
        if not path.is_file():
            return None
        return reader(path)
    except PermissionError as exc:
        warn_unusable("read", exc)
        return None
    except (GenmetricsError, *NPZ_READ_ERRORS) as exc:
        cause = exc.__context__ if isinstance(exc, GenmetricsError) and exc.__context__ else exc
        reason = (str(cause).removeprefix(f"{path}: ") if isinstance(cause, GenmetricsError)
                  else f"{type(cause).__name__}: {cause}")
        warnings.warn(f"the cache entry {path} is damaged ({reason}); removed, recomputing", CacheWarning,
                      stacklevel=3)
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def write_entry(path: Path, writer) -> bool:
    """``writer(path)``; a cache that cannot be written is a warning, never a lost result. True if written."""
    try:
        writer(path)
        return True
    except OSError as exc:
        warn_unusable("written", exc)
        return False


# The onnxruntime backend's exported networks and remembered export failures (features/onnx_backend.py).
ONNX_FOLDER = "onnx"
ONNX_NAME = re.compile(r"^[0-9a-f]{32}-[0-9a-f]{16}\.onnx$")
ONNX_FAILED_NAME = re.compile(r"^[0-9a-f]{32}\.failed\.json$")
ONNX_TEMP_NAME = re.compile(r"^\.[0-9a-f]{32}(-[0-9a-f]{16}\.onnx|\.failed\.json)\.[a-z0-9_]+\.tmp$")


def _own_files(pattern: re.Pattern, folder: str = "") -> list[Path]:
    try:
        return sorted(p for p in (cache_dir() / folder).iterdir() if pattern.match(p.name))
    except OSError:  # no cache folder yet, or not a folder, or not readable
        return []


def _onnx_entries() -> list[dict]:
    found = []
    for path in _own_files(ONNX_NAME, ONNX_FOLDER):
        with contextlib.suppress(OSError):
            found.append({"kind": "onnx", "file": str(path), "source": "exported network (--backend onnxruntime)",
                          "n": None, "partial": False, "bytes": path.stat().st_size})
    for path in _own_files(ONNX_FAILED_NAME, ONNX_FOLDER):
        try:
            why = json.loads(path.read_text()).get("why", "")
        except (OSError, ValueError, AttributeError):
            why = "unreadable record"
        found.append({"kind": "onnx-failed", "file": str(path), "source": f"export not retried: {why}",
                      "n": None, "partial": False, "bytes": 0})
    return found


def entries() -> list[dict]:
    """genmetrics' cached entries: kind, file, size, the input they were made from and the number of
    images; a damaged one has ``damaged`` (why) instead, a resume file of an interrupted run ``partial``."""
    import numpy as np

    from ._io import NPZ_READ_ERRORS

    found = []
    for path in _own_files(ENTRY_NAME):
        entry = {"kind": ENTRY_NAME.match(path.name).group(1), "file": str(path), "source": "", "n": None,
                 "partial": path.name.endswith(".partial.npz")}
        try:
            entry["bytes"] = path.stat().st_size
            with np.load(path, allow_pickle=False) as data:
                if entry["partial"]:
                    entry["n"] = int(data["n"])
                else:
                    meta = json.loads(str(data["genmetrics_meta"]))
                    entry.update(source=meta.get("source", ""), n=meta.get("n"))
        except NPZ_READ_ERRORS as exc:
            entry["damaged"] = f"{type(exc).__name__}: {exc}"
        found.append(entry)
    return found + _onnx_entries()


def clear() -> int:
    """Remove genmetrics' own entries, resume files and stale temporary files (nothing else in the
    folder, which may be shared); returns how many entries and resume files were removed."""
    count = 0
    for path in _own_files(ENTRY_NAME):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            count += 1
    for pattern in (ONNX_NAME, ONNX_FAILED_NAME):
        for path in _own_files(pattern, ONNX_FOLDER):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                count += 1
    for pattern, folder in ((TEMP_NAME, ""), (ONNX_TEMP_NAME, ONNX_FOLDER)):
        for path in _own_files(pattern, folder):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return count

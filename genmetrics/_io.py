"""Atomic file writing: an output file appears complete or not at all; what reading a damaged npz raises."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path

from .errors import GenmetricsError

# What numpy raises on a truncated or corrupt .npy/.npz (found by truncating and overwriting bytes of
# such files): zipfile's BadZipFile (truncated archive, bad CRC), zlib.error (savez_compressed data),
# EOFError (array data cut short), ValueError (bad header, wrong size; includes UnicodeDecodeError),
# SyntaxError and tokenize.TokenError (the header dict is parsed as a Python literal), KeyError (a
# missing member), RuntimeError and NotImplementedError (zipfile, on damaged flag bits: "encrypted",
# "compression method not supported") and OSError.
NPZ_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, SyntaxError, tokenize.TokenError, RuntimeError,
                   zipfile.BadZipFile, zlib.error)


def unreadable_npz(path, exc: Exception, what: str = ".npz file") -> GenmetricsError:
    """The error for an .npz/.npy that raised one of NPZ_READ_ERRORS."""
    return GenmetricsError(f"{path}: cannot read the {what} ({type(exc).__name__}: {exc}); it is damaged or "
                           f"not an .npz: make it again")


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask sets it to read it)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb"):
    """Yield a temporary file beside ``path``; on success it replaces ``path`` with ``os.replace``.

    The file gets the mode ``open`` would give a new file (0o666 less the umask), or keeps the mode of
    the file it replaces: ``mkstemp`` alone would make every output 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        permissions = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        permissions = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            os.chmod(tmp, permissions)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

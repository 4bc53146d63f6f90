"""Output files: checked before the work, written atomically (complete or not at all), and npz reading errors.

Every writer of a user's ``-o`` calls ``check_output`` first, before extracting or sampling, so that an
existing file, a folder in the way or an unwritable location fails in a second instead of losing the
result after the work. ``atomic_write`` then writes a temporary file beside the target and
``os.replace``s it, with the permissions a plain ``open`` would give.
"""
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


def check_output(path: str | os.PathLike, *, force: bool = False, folder: bool = False) -> Path:
    """Fail now, with the fix, if ``path`` (a file, or with ``folder`` a folder of new files) cannot be
    written: an existing file (unless ``force``), a folder where a file goes (or a file where a folder
    goes), a non-empty folder, or a location that cannot be created or written. Creates nothing."""
    path = Path(path).expanduser()
    if folder:
        if path.exists() and not path.is_dir():
            raise GenmetricsError(f"-o {path} is a file, not a folder; choose a new folder name (or a .npz/.npy "
                                  f"file name to write one array)")
        if path.is_dir() and any(path.iterdir()):
            raise GenmetricsError(f"-o {path} is a folder that is not empty; choose a new or empty folder")
        _check_writable(path, path)
        return path
    if path.is_dir():
        raise GenmetricsError(f"-o {path} is a folder; give a file name, e.g. {path / 'out.npz'}")
    if (path.exists() or path.is_symlink()) and not force:
        raise GenmetricsError(f"-o {path} exists; choose another name, or pass --force to replace it")
    _check_writable(path, path.parent)
    return path


def _check_writable(path: Path, folder: Path) -> None:
    """``folder`` exists and is writable, or the nearest existing folder above it is (it will be created)."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise GenmetricsError(f"-o {path}: {existing} is a file, so the folder {folder} cannot be created; "
                              f"choose another location")
    # Try it: os.access misses file systems that refuse new files to root (/proc, some mounts).
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".genmetrics-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise GenmetricsError(f"-o {path}: cannot write in {existing} ({exc.strerror or exc}); choose another "
                              f"location") from None


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

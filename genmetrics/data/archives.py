"""What can be read inside the archives images arrive in: a zip's directory (which members Python's
zipfile can decompress) and the image array of a .npy / .npz file."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._io import NPZ_READ_ERRORS
from ..errors import GenmetricsError

IMAGE_ARRAY_KEYS = ("images", "samples", "x", "arr_0")  # tried in this order in a multi-array .npz
# An ADM reference batch (openai/guided-diffusion evaluations/README.md) holds its images as arr_0 (uint8 NHWC)
# beside their statistics: read as images, it gives arr_0.
ADM_IMAGES = {"arr_0", "mu_s"}

# zip methods Python's zipfile decompresses (Python docs, zipfile: ZIP_STORED, ZIP_DEFLATED, ZIP_BZIP2,
# ZIP_LZMA; ZIP_ZSTANDARD from 3.14). Others (e.g. 9 Deflate64, 99 AES) raise NotImplementedError on read.
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA,
               *([zipfile.ZIP_ZSTANDARD] if hasattr(zipfile, "ZIP_ZSTANDARD") else [])}
ZIP_ENCRYPTED = 0x1  # bit 0 of the general purpose flag (PKWARE APPNOTE.TXT 4.4.4)
# what reading a member raises: corrupt data (zlib.error, EOFError from bz2/lzma, BadZipFile for a bad CRC),
# an encrypted member (RuntimeError), a method zipfile lacks (NotImplementedError), I/O errors (OSError)
ZIP_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error)


def zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a member cannot be read, seen from the zip's directory alone; None when it can be tried."""
    if info.flag_bits & ZIP_ENCRYPTED:
        return "the member is encrypted (password-protected); extract the zip and pass the folder"
    if info.compress_type not in ZIP_METHODS:
        return (f"the member uses compression method {info.compress_type}, which Python's zipfile cannot "
                f"read; re-create the zip with deflate (zip -Z deflate) or extract it and pass the folder")
    return None


def load_array_file(path: Path, mmap: bool = True) -> np.ndarray:
    """The array in a .npy, or the image array of a .npz (see IMAGE_ARRAY_KEYS)."""
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if "mu" in keys and "sigma" in keys and not ADM_IMAGES <= set(keys):
                raise GenmetricsError(f"{path} holds statistics (mu, sigma), not images: it can be "
                                      f"used where statistics are accepted (e.g. genmetrics fid)")
            key = keys[0] if len(keys) == 1 else next((k for k in IMAGE_ARRAY_KEYS if k in keys), None)
            if key is None:
                raise GenmetricsError(f"{path} holds several arrays ({', '.join(keys)}); name the image "
                                      f"array one of {', '.join(IMAGE_ARRAY_KEYS)}")
            return archive[key]
    except NPZ_READ_ERRORS as exc:  # any damage numpy or zipfile reports (see genmetrics._io)
        raise GenmetricsError(f"{path}: cannot read the array file ({exc})") from None

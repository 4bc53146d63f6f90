"""The inputs of the Parzen-window estimate, each made into one (N, D) matrix, and the option checks.

How a set becomes a matrix (the same rule for samples, test and validation sets):

- Images: anything ``genmetrics.data.open_images`` accepts (folder, zip, uint8 .npy/.npz, image tensors
  and arrays, iterables of batches). Each image is the loader's HxWx3 uint8 array flattened in H, W, C
  order (indexable sources: ``src.load(i)`` one at a time; an ``IterableSource``: its (N,3,H,W) uint8
  batches permuted to N,H,W,C). Rows stay uint8 and are divided by 255 only when a block of distances
  is computed, so a set costs N*D bytes. Float image arrays go through the loader and are quantised to
  8 bits like every image input (``decode.to_uint8``).
- ``gray=True``: RGB becomes one channel with PIL's ``convert('L')``, ITU-R 601-2 luma
  L = R*299/1000 + G*587/1000 + B*114/1000 in PIL's 16-bit fixed point, rounded to nearest.
  A grayscale image that the loader replicated to RGB gets its exact values back.
- Vectors: a float numpy array or torch tensor of shape (N, D), or a .npy/.npz file holding one, is
  used as it is (float64, no scaling): toy 2-D sets, or generator outputs kept continuous.
- A 2-D uint8 array (N, D) is flattened 8-bit pixels (MNIST as (N, 784)): divided by 255; ``gray``
  does not apply to it.
"""
from __future__ import annotations

import hashlib
import math
import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.archives import load_array_file
from ..data.sources import ArraySource, BadImage, IterableSource, open_images
from ..errors import GenmetricsError

# PIL libImaging/Convert.c, macro L24: ITU-R 601-2 weights 0.299, 0.587, 0.114 scaled by 2**16 (they
# sum to 65536, so gray stays gray); 0x8000 rounds to nearest before the >> 16.
LUMA_WEIGHTS_16 = np.array([19595, 38470, 7471], dtype=np.uint32)
LUMA_ROUND, LUMA_SHIFT = 0x8000, 16


@dataclass
class PointSet:
    """One set as an (N, D) matrix: uint8 pixels (``divisor`` 255) or float64 vectors (``divisor`` 1)."""

    values: np.ndarray
    divisor: float
    name: str
    kind: str  # "images", "pixels" (2-D uint8) or "vectors"
    all_gray: bool = False  # every image had R == G == B (before any gray conversion)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    def scaled_rows(self, lo: int, hi: int) -> np.ndarray:
        return np.asarray(self.values[lo:hi], np.float64) / self.divisor


def luma(images: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (...) uint8 luma, exactly PIL's ``convert('L')``."""
    weighted = images.astype(np.uint32) @ LUMA_WEIGHTS_16
    return ((weighted + LUMA_ROUND) >> LUMA_SHIFT).astype(np.uint8)


def _writable(array: np.ndarray, dtype) -> np.ndarray:
    """A C-contiguous, writable ``dtype`` array (torch.from_numpy refuses read-only memory maps)."""
    array = np.ascontiguousarray(array, dtype=dtype)
    return array if array.flags.writeable else array.copy()


def _vectors(array, name: str, role: str) -> PointSet | None:
    """A 2-D array as a PointSet, None for an image array, GenmetricsError for anything else."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    if array.ndim != 2:
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise GenmetricsError(f"the {role} set {name} holds NaN or infinite pixel values: fix them first")
        return None
    if array.dtype == np.uint8:
        return PointSet(_writable(array, np.uint8), 255.0, name, "pixels")
    if not np.issubdtype(array.dtype, np.floating):
        raise GenmetricsError(f"the {role} set {name} is a 2-D {array.dtype} array: give float (N, D) "
                              f"vectors (used as they are) or uint8 (N, D) pixels (divided by 255)")
    return PointSet(_writable(array, np.float64), 1.0, name, "vectors")


def _from_file(path: Path, role: str) -> PointSet | ArraySource:
    try:
        array = load_array_file(path)
    except GenmetricsError as exc:
        raise GenmetricsError(f"the {role} set: {exc}") from None
    if array.dtype != np.uint8 and np.issubdtype(array.dtype, np.floating) and array.ndim != 2:
        raise GenmetricsError(f"the {role} set {path} holds a float array of shape {array.shape}: float "
                              f"arrays must be (N, D) vectors; save images as uint8 (N,H,W,C) or (N,C,H,W)")
    points = _vectors(array, str(path), role)
    if points is not None:
        return points
    if array.dtype != np.uint8:
        raise GenmetricsError(f"the {role} set {path} holds a {array.dtype} array of shape {array.shape}; "
                              f"give uint8 images or float (N, D) vectors")
    return ArraySource(array, str(path))


def _image_batches(source, limit: int, role: str):
    """Yield (n, H, W, 3) uint8 arrays of at most ``limit`` images in input order."""
    if isinstance(source, IterableSource):
        taken = 0
        for batch in source.batches():
            batch = batch[:limit - taken].permute(0, 2, 3, 1).cpu().numpy()
            taken += len(batch)
            yield batch
            if taken >= limit:
                return
        return
    for index in range(min(limit, len(source))):
        try:
            yield source.load(index)[None]
        except BadImage as exc:
            raise GenmetricsError(f"the {role} set: {exc}; fix or remove the file") from None


def _image_matrix(source, role: str, limit: int, gray: bool, progress: bool) -> PointSet:
    rows, first, all_gray = [], None, True
    total = None if isinstance(source, IterableSource) else min(limit, len(source))
    with tqdm(total=total, unit="img", desc=f"load {role}", leave=False, disable=not progress,
              file=sys.stderr) as bar:
        for batch in _image_batches(source, limit, role):
            if first is None:
                first = batch.shape[1:]
            if batch.shape[1:] != first:
                raise GenmetricsError(
                    f"the {role} set {source.name} mixes image sizes: image {sum(map(len, rows))} is "
                    f"{batch.shape[1]}x{batch.shape[2]} but the first is {first[0]}x{first[1]}; a Parzen "
                    f"window needs one size per set: resize the images to one size first")
            all_gray = all_gray and bool((batch[..., 0] == batch[..., 1]).all() and
                                         (batch[..., 1] == batch[..., 2]).all())
            rows.append((luma(batch) if gray else batch).reshape(len(batch), -1))
            bar.update(len(batch))
    if not rows:
        raise GenmetricsError(f"the {role} set {source.name} is empty: it needs at least one image")
    return PointSet(np.concatenate(rows), 255.0, source.name, "images", all_gray)


def load_points(data, role: str, *, limit: int | None = None, gray: bool = False,
                progress: bool = False) -> PointSet:
    """One input (see the module docstring) as a PointSet of at most ``limit`` rows."""
    limit = sys.maxsize if limit is None else limit
    if isinstance(data, PointSet):
        points = data
    elif isinstance(data, (str, os.PathLike)) and str(data).lower().endswith((".npy", ".npz")) \
            and Path(data).expanduser().is_file():
        points = _from_file(Path(data).expanduser(), role)
    elif isinstance(data, (np.ndarray, torch.Tensor)):
        points = _vectors(data, f"<{type(data).__name__} {tuple(data.shape)}>", role)
    else:
        points = None
    if points is None:
        try:
            points = open_images(data)
        except GenmetricsError as exc:
            raise GenmetricsError(f"the {role} set: {exc}") from None
    if not isinstance(points, PointSet):
        return _image_matrix(points, role, limit, gray, progress)
    if points.values.shape[0] > limit:
        points = PointSet(points.values[:limit], points.divisor, points.name, points.kind)
    check_points(points, role)
    return points


def check_points(points: PointSet, role: str) -> None:
    """Empty sets and non-finite values are the user's to fix."""
    rows, dim = points.values.shape
    if rows == 0 or dim == 0:
        raise GenmetricsError(f"the {role} set {points.name} is empty (shape {points.values.shape}): it "
                              f"needs at least one row of at least one value")
    if points.kind == "vectors":
        bad = ~np.isfinite(points.values).all(axis=1)
        if bad.any():
            raise GenmetricsError(f"the {role} set {points.name} holds NaN or infinite values in "
                                  f"{int(bad.sum())} row(s), the first at row {int(np.argmax(bad))}: "
                                  f"remove or fix those rows")


def _row_digests(points: PointSet, as_float: bool, block: int = 4096):
    for lo in range(0, len(points), block):
        rows = (points.scaled_rows(lo, lo + block) if as_float
                else np.ascontiguousarray(points.values[lo:lo + block]))
        for row in rows:
            yield hashlib.blake2b(row.tobytes(), digest_size=16).digest()


def count_shared_rows(a: PointSet, b: PointSet) -> int:
    """How many rows of ``b`` are identical to some row of ``a`` (compared on the [0,1]-scaled values)."""
    as_float = not (a.values.dtype == b.values.dtype == np.uint8)
    seen = set(_row_digests(a, as_float))
    return sum(digest in seen for digest in _row_digests(b, as_float))


def check_same_dims(sets: dict) -> None:
    """All sets (role -> PointSet) must have the same number of values per row."""
    dims = {role: points.dim for role, points in sets.items()}
    if len(set(dims.values())) > 1:
        listed = "; ".join(f"the {role} set {sets[role].name} has D={dim}" for role, dim in dims.items())
        raise GenmetricsError(f"the sets have different dimensions ({listed}): all need the same image size "
                              f"and channels (gray=True / --gray makes RGB images one channel)")


def warn_about_sets(sets: dict, gray: bool) -> None:
    """Grayscale images stored as RGB without ``gray``; validation rows that are also test rows."""
    images = [points for points in sets.values() if points.kind == "images"]
    if not gray and images and all(points.all_gray for points in images):
        warnings.warn("the images are grayscale stored as RGB, so each pixel counts 3 times (D = 3*H*W); "
                      "pass gray=True (--gray) for the D = H*W of MNIST-style numbers", stacklevel=3)
    if "validation" in sets:
        shared = count_shared_rows(sets["validation"], sets["test"])
        if shared:
            warnings.warn(f"{shared} of the {len(sets['test'])} test rows also appear in the validation set: "
                          f"sigma is partly tuned on test data; use disjoint sets", stacklevel=3)


def check_sigma(value, option: str) -> None:
    """A kernel width is finite, positive, and 1 / (2 sigma^2) is a finite positive float64."""
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
            and 0 < 0.5 / value ** 2 < math.inf):
        raise GenmetricsError(f"{option} must be a positive width such as 0.2 (pixels are in [0, 1]), got "
                              f"{value!r}")


def check_block(batch_size) -> None:
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise GenmetricsError(f"--batch-size must be a positive number of rows per block, got {batch_size!r}")


def sigma_grid_values(sigma_grid) -> np.ndarray:
    """(lo, hi, count) -> numpy.logspace(log10 lo, log10 hi, count), parzen_ll.py's form of the grid."""
    try:
        lo, hi, count = sigma_grid
    except (TypeError, ValueError):
        raise GenmetricsError(f"--sigma-grid must be lo:hi:n (e.g. 0.1:1:10), got {sigma_grid!r}") from None
    check_sigma(lo, "--sigma-grid lo")
    check_sigma(hi, "--sigma-grid hi")
    if hi < lo or not isinstance(count, numbers.Integral) or count < 1 or (hi > lo and count < 2):
        raise GenmetricsError(f"--sigma-grid lo:hi:n needs lo <= hi and n >= 1 (n >= 2 when lo < hi), "
                              f"got {lo}:{hi}:{count}")
    return np.logspace(math.log10(lo), math.log10(hi), int(count))


def check_options(n, batch_size, sigma, sigma_grid, sigma_search, default_grid, modes) -> np.ndarray:
    """Every option of ``parzen_log_likelihood`` that can be checked before reading data; the sigma grid."""
    if not isinstance(n, numbers.Integral) or n < 1:
        raise GenmetricsError(f"-n must be a positive number of samples, got {n!r}")
    check_block(batch_size)
    if sigma_search not in modes:
        raise GenmetricsError(f"--sigma-search must be one of {', '.join(modes)}, got {sigma_search!r}")
    if sigma is not None:
        check_sigma(sigma, "--sigma")
        if sigma_grid is not None or sigma_search != "grid":
            raise GenmetricsError("a fixed --sigma takes no --sigma-grid or --sigma-search: give one or the other")
    grid = sigma_grid_values(default_grid if sigma_grid is None else sigma_grid)
    if sigma_search == "refine" and len(grid) < 2:
        raise GenmetricsError("--sigma-search refine needs a grid of at least 2 sigmas to bracket the best")
    return grid


def parse_sigma_grid(text: str | None) -> tuple | None:
    """``"lo:hi:n"`` (``--sigma-grid``) -> (lo, hi, n); None stays None (the default grid)."""
    if text is None:
        return None
    try:
        lo, hi, count = text.split(":")
        return float(lo), float(hi), int(count)
    except ValueError:
        raise GenmetricsError(f"--sigma-grid must be lo:hi:n such as 0.1:1:10, got {text!r}") from None

"""Image sources: one loader for every command and library call.

``open_images(x)`` accepts
  - a folder (searched recursively; extensions matched case-insensitively; files in sorted path order;
    what is read and what is skipped: genmetrics/data/folder.py),
  - a single image file, a ``.zip`` of images,
  - a ``.npy`` / ``.npz`` file holding a uint8 array (N,H,W,C), (N,C,H,W) or (N,H,W), 1 or 3 channels,
  - in Python also a list of image paths, a torch tensor or numpy array batch (uint8, or float in
    [0, 1]; a 3-D array is a (N,H,W) grayscale batch), a list of single images, or an iterable of batches.
Only regular files are read (a named pipe would block for ever, a device never end).

Lists and iterables of arrays/tensors, without guessing:
  - a list or tuple is a list of SINGLE images when every item is 2-D (H,W) or 3-D with a channel axis of
    size 1 or 3 last or first (H,W,C) / (C,H,W) (H,W,C wins when both fit, as for batches); 4 RGB images
    give 4 images. Sizes may differ. A list holding any 4-D item is a list of batches.
  - any other iterable (a generator, a DataLoader, an iterator) must yield 4-D batches (N,C,H,W) or
    (N,H,W,C). A 2-D or 3-D item is refused: a (3,H,W) image and a batch of 3 grayscale images look alike,
    and reading one as the other would silently give a wrong number of images.
Indexable sources decode one image at a time (in DataLoader workers); an iterable is consumed in order.
"""
from __future__ import annotations

import io
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import GenmetricsError
from .archives import ZIP_READ_ERRORS, load_array_file, zip_member_problem
from .decode import array_image, channel_axis, image_axis, is_image_dtype, pil_to_rgb, to_uint8
from .folder import IMAGE_EXTENSIONS, image_files, not_regular, skipped_phrase



class BadImage(Exception):
    """An image that cannot be decoded; carries the file name."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


class Source:
    """An indexable set of images; ``load(i)`` returns HxWx3 uint8 or raises ``BadImage``."""

    name: str = "<images>"
    files: list[str] | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def item_name(self, index: int) -> str:
        return f"{self.name}[{index}]"


def _decode(handle, name: str) -> np.ndarray:
    try:
        with Image.open(handle) as image:
            image.load()
            return pil_to_rgb(image)
    except Exception as exc:  # PIL raises many types for a corrupt or truncated file
        raise BadImage(name, f"cannot decode image ({type(exc).__name__}: {exc})") from None


class FolderSource(Source):
    def __init__(self, root: Path, files: list[str]):
        self.root, self.files, self.name = root, files, str(root)

    def __len__(self):
        return len(self.files)

    def item_name(self, index):
        return str(self.root / self.files[index]) if self.root.is_dir() else str(self.root)

    def load(self, index):
        return _decode(self.item_name(index), self.item_name(index))


class FileListSource(FolderSource):
    """An explicit list of image files, in the given order."""

    def __init__(self, paths: list[Path]):
        missing = [p for p in paths if not p.exists() and not p.is_symlink()]
        if missing:
            raise GenmetricsError(f"{missing[0]} does not exist ({len(missing)} of the {len(paths)} listed files)")
        for path in paths:  # each was named: one that cannot be read is an error, not a skip
            _require_regular_file(path)
        self.root, self.files, self.name = Path(), [str(p) for p in paths], f"<list of {len(paths)} files>"

    def item_name(self, index):
        return self.files[index]


def _require_regular_file(path: Path) -> None:
    kind = not_regular(path)
    if kind is not None:
        raise GenmetricsError(f"{path} is a {kind}, not a regular file; give an image file (or a folder, a .zip, "
                              f"a .npy/.npz array)")


class ZipSource(Source):
    def __init__(self, path: Path, members: list[str], problems: dict[str, str] | None = None):
        self.path, self.files, self.name = path, members, str(path)
        self.problems = problems or {}  # member -> why it cannot be read: a BadImage when loaded
        self._zip, self._pid = None, None

    def __len__(self):
        return len(self.files)

    def item_name(self, index):
        return f"{self.path}:{self.files[index]}"

    def load(self, index):
        if self.files[index] in self.problems:
            raise BadImage(self.item_name(index), self.problems[self.files[index]])
        if self._zip is None or self._pid != os.getpid():  # one handle per DataLoader worker
            self._zip, self._pid = zipfile.ZipFile(self.path), os.getpid()
        try:
            with self._zip.open(self.files[index]) as member:
                data = member.read()
        except ZIP_READ_ERRORS as exc:
            raise BadImage(self.item_name(index), f"cannot read from the zip ({type(exc).__name__}: {exc})") from None
        return _decode(io.BytesIO(data), self.item_name(index))

    def __getstate__(self):
        return {**self.__dict__, "_zip": None, "_pid": None}


class ArraySource(Source):
    def __init__(self, array, name: str):
        self.array, self.name = array, name
        if not is_image_dtype(array):
            raise GenmetricsError(f"{name}: image arrays must be uint8 or float in [0, 1], got {array.dtype}")
        try:
            self.axis = channel_axis(tuple(array.shape))
        except ValueError as exc:
            raise GenmetricsError(f"{name}: {exc}") from None
        if array.shape[0] == 0:
            raise GenmetricsError(f"{name}: the image array is empty (shape {tuple(array.shape)})")

    def __len__(self):
        return int(self.array.shape[0])

    def load(self, index):
        return array_image(self.array, index, self.axis)


class ImageListSource(ArraySource):
    """A list of single images, each (H,W), (H,W,C) or (C,H,W); sizes and layouts may differ."""

    def __init__(self, images: list, axes: list[int], name: str):
        self.array, self.axes, self.name = images, axes, name

    def __len__(self):
        return len(self.array)

    def load(self, index):
        return array_image(self.array, index, self.axes[index])


BATCH_HINT = ("yield batches of shape (N,C,H,W) or (N,H,W,C), e.g. image.unsqueeze(0) or torch.stack(images); "
              "a (N,H,W) grayscale batch as (N,1,H,W)")


class IterableSource:
    """Any iterable of 4-D image batches; its length is not known in advance."""

    files = None

    def __init__(self, iterable, name: str = "<iterable>"):
        self.iterable, self.name = iterable, name

    def batches(self):
        """Yield (N,3,H,W) uint8 tensors."""
        for i, batch in enumerate(self.iterable):
            if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], (torch.Tensor, np.ndarray)):
                raise GenmetricsError(f"{self.name}, item {i} is a {type(batch).__name__} of {len(batch)}, not a "
                                      f"batch of images; for (images, labels) pairs pass "
                                      f"(images for images, _ in loader)")
            try:
                batch = to_uint8(batch if isinstance(batch, torch.Tensor) else np.asarray(batch))
                if batch.ndim != 4:  # a (3,H,W) image and a (3,H,W) grayscale batch look alike: no guessing
                    raise ValueError(f"got shape {tuple(batch.shape)}, not a 4-D batch; {BATCH_HINT}")
                axis = channel_axis(tuple(batch.shape))
            except ValueError as exc:
                raise GenmetricsError(f"{self.name}, item {i}: {exc}") from None
            batch = torch.as_tensor(batch)
            if axis == -1:
                batch = batch.permute(0, 3, 1, 2)
            yield batch.expand(-1, 3, -1, -1) if batch.shape[1] == 1 else batch


def _open_zip(path: Path) -> ZipSource:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise GenmetricsError(f"{path}: not a readable zip file ({exc})") from None
    files = [i for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    images = {i.filename: i for i in files if i.filename.lower().endswith(IMAGE_EXTENSIONS)}
    if not images:
        raise GenmetricsError(f"no images found in {path} ({len(infos)} entries, none with an image "
                              f"extension: {', '.join(IMAGE_EXTENSIONS)})")
    others = [i.filename for i in files if i.filename not in images]
    if others:
        warnings.warn(f"{path}: {skipped_phrase('other', len(others), others[0])} (accepted extensions: "
                      f"{', '.join(IMAGE_EXTENSIONS)}, any case)", stacklevel=3)
    problems = {name: problem for name, info in images.items() if (problem := zip_member_problem(info))}
    return ZipSource(path, sorted(images), problems)


def _list_of_images(items: list, name: str | None) -> ImageListSource | IterableSource:
    """A list/tuple of arrays or tensors: single images, or batches when any item is 4-D."""
    shapes = [tuple(item.shape) for item in items]
    if any(len(shape) == 4 for shape in shapes):
        return IterableSource(items, name or f"<list of {len(items)} batches>")
    axes = [image_axis(shape) for shape in shapes]
    for i, (item, axis) in enumerate(zip(items, axes)):
        if not is_image_dtype(item):
            raise GenmetricsError(f"item {i} of the list is {item.dtype}: images must be uint8 or float in [0, 1]")
        if axis is None:
            raise GenmetricsError(
                f"item {i} of the list has shape {shapes[i]}: neither one image ((H,W), (H,W,C) or (C,H,W), "
                f"C in 1, 3) nor a 4-D batch; pass a list of single images, or batches (N,C,H,W) / (N,H,W,C) "
                f"(a (N,H,W) grayscale batch as (N,1,H,W))")
    return ImageListSource(list(items), axes, name or f"<list of {len(items)} images>")


def open_images(images, name: str | None = None) -> Source | IterableSource:
    """Open any accepted input (see the module docstring) as a Source or IterableSource."""
    if isinstance(images, (Source, IterableSource)):
        return images
    if isinstance(images, (str, os.PathLike)):
        path = Path(images).expanduser()
        if not path.exists() and not path.is_symlink():
            raise GenmetricsError(f"{path} does not exist: give a folder of images, a .zip, a .npy/.npz "
                                  f"array or an image file")
        if path.is_dir():
            return FolderSource(path, image_files(path))
        _require_regular_file(path)  # a pipe blocks for ever, a device never ends; a broken link is said
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return _open_zip(path)
        if suffix in (".npy", ".npz"):
            array = load_array_file(path)
            if array.dtype != np.uint8:
                raise GenmetricsError(f"{path} holds a {array.dtype} array of shape {array.shape}; image "
                                      f"arrays must be uint8 in [0, 255] (N,H,W,C) or (N,C,H,W)")
            return ArraySource(array, str(path))
        if suffix in IMAGE_EXTENSIONS:
            return FolderSource(path, [path.name])
        raise GenmetricsError(f"{path}: unsupported file type {suffix or '(none)'}; give a folder, a .zip, "
                              f"a .npy/.npz array or an image ({', '.join(IMAGE_EXTENSIONS)})")
    if isinstance(images, (list, tuple)) and images and all(isinstance(p, (str, os.PathLike)) for p in images):
        return FileListSource([Path(p).expanduser() for p in images])
    if isinstance(images, (list, tuple)) and images and all(isinstance(x, (torch.Tensor, np.ndarray)) for x in images):
        return _list_of_images(images, name)
    if isinstance(images, (torch.Tensor, np.ndarray)):
        return ArraySource(images, name or f"<{type(images).__name__} {tuple(images.shape)}>")
    if hasattr(images, "__iter__"):
        return IterableSource(images, name or "<iterable of batches>")
    raise GenmetricsError(f"cannot read images from a {type(images).__name__}; give a path, an array, a "
                          f"tensor or an iterable of batches")

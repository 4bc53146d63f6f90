"""Translation domains from the user's folders (``--data-a DIR --data-b DIR``): every image of each folder
(unpaired), or the images matched by file name (paired); squared and resized to one size."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import GenmetricsError

def _folder_files(path: Path, bundled: tuple[str, ...]) -> tuple[object, list[str]]:
    from ..data import open_images

    if not path.is_dir():
        raise GenmetricsError(f"--data {path}: no such folder; give a folder of images or one of {', '.join(bundled)}")
    source = open_images(path)
    return source, list(source.files)


def _load(source, rows, size: int | None) -> torch.Tensor:
    import numpy as np

    from ..data.sources import BadImage
    from .data import _square, _to_uint8_nchw, check_image_size

    try:
        first = source.load(rows[0])
        size = size or min(first.shape[:2])
        check_image_size(size)
        images = np.stack([_square(source.load(i), size) for i in rows])
    except BadImage as exc:
        raise GenmetricsError(f"{exc}; remove or fix the file") from None
    if images.ndim == 4 and (images == images[..., :1]).all():
        images = images[..., :1]
    return _to_uint8_nchw(images)


def load_folders(paths: list[Path], size: int | None, paired: bool, bundled: tuple[str, ...]) -> list[torch.Tensor]:
    """User domains: every image of each folder, or (``paired``) the images matched by file name. ``bundled``:
    the bundled domains' names, which a missing folder's message offers instead."""
    opened = [_folder_files(p, bundled) for p in paths]
    if not paired:
        first = _load(opened[0][0], range(len(opened[0][1])), size)
        return [first] + [_load(source, range(len(files)), first.shape[-1]) for source, files in opened[1:]]
    names = [{Path(f).with_suffix("").as_posix(): i for i, f in enumerate(files)} for _, files in opened]
    for folder, other, there in ((paths[0], paths[1], names[1]), (paths[1], paths[0], names[0])):
        own = names[paths.index(folder)]
        missing = sorted(set(own) - set(there))
        if missing:
            raise GenmetricsError(f"paired data: {folder / missing[0]}.* has no file of the same name in {other} "
                                  f"({len(missing)} unmatched); pairs are matched by file name without the "
                                  f"extension, so rename or remove it (or train an unpaired model)")
    keys = sorted(names[0])
    first = _load(opened[0][0], [names[0][k] for k in keys], size)
    return [first] + [_load(source, [n[k] for k in keys], first.shape[-1]) for (source, _), n in
                      zip(opened[1:], names[1:])]

"""What an input is, decided once: images, per-image features, statistics, or 2-D points.

Every command and public call that takes "a path or an array" goes through ``open_input``, which looks at
the input once (an .npz's array names are read without loading the arrays) and returns an ``Input`` that
holds the opened thing:

    images      a folder, zip, image file, list of files, uint8 .npy/.npz, tensor/array batch, iterable
                -> a ``Source`` / ``IterableSource`` (decoded lazily, batch by batch)
    features    a features .npz (``pool``/``logits``, from genmetrics features) or ``Features``
    statistics  a statistics .npz (``mu``, ``sigma``: ours, pytorch-fid's, clean-fid's) or ``Statistics``,
                or ``ref:NAME``, a published reference file (``refs.REFERENCES``); an edm2 .pkl; an ADM
                reference batch .npz (its ``mu``/``sigma``, or, where the caller cannot use statistics, its
                ``arr_0`` images)
    points      a float (N, D) .npy/.npz or array (toy samples, Parzen vectors)

A caller says which kinds it can use (``accept``); any other kind is a ``GenmetricsError`` that names the
input, what it holds and what the caller needs, before any work or any weights download.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._io import NPZ_READ_ERRORS, unreadable_npz
from .data.archives import load_array_file
from .data.sources import IterableSource, Source, open_images
from .errors import GenmetricsError
from .features.files import Features, features_from_file
from .stats import Statistics, load_statistics

IMAGES, FEATURES, STATISTICS, POINTS = "images", "features", "statistics", "points"
KINDS = (IMAGES, FEATURES, STATISTICS, POINTS)
_WORDS = {IMAGES: "images", FEATURES: "per-image features (a features file)",
          STATISTICS: "only statistics (mu, sigma)", POINTS: "float vectors (N, D), not images"}


@dataclass
class Input:
    """One opened input: its ``kind`` (one of KINDS), a ``name`` for messages and the opened ``value``."""

    kind: str
    name: str
    value: object  # Source | IterableSource | Features | Statistics | np.ndarray

    @property
    def images(self) -> Source | IterableSource:
        return self.value


def _npz_keys(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return list(data.files)
    except NPZ_READ_ERRORS as exc:
        raise unreadable_npz(path, exc) from None


def _is_points(array) -> bool:
    """A float (N, D) array: vectors, not an image batch (which is 3-D or 4-D)."""
    return array.ndim == 2 and (array.dtype.kind == "f" if isinstance(array, np.ndarray) else array.is_floating_point())


def _named_reference(name: str, accept) -> Input:
    """``ref:NAME``: the published file (downloaded and checked on first use, see ``refs``), labelled with
    the protocol its statistics were made under, so that a FID across protocols is refused."""
    from . import refs

    reference = refs.lookup(name)
    opened = _classify(refs.resolve(name), accept)
    opened.name = f"{refs.PREFIX}{reference.name} ({opened.name})"
    if opened.kind == STATISTICS:
        opened.value.source = opened.name
        if reference.resize and "resize" not in opened.value.meta:
            opened.value.meta["resize"] = reference.resize
    return opened


def _classify(x, accept) -> Input:
    if isinstance(x, str) and x.startswith("ref:"):
        return _named_reference(x, accept)
    if isinstance(x, Statistics):
        return Input(STATISTICS, x.source or "<statistics>", x)
    if isinstance(x, Features):
        return Input(FEATURES, "<features>", x)
    if isinstance(x, (Source, IterableSource)):
        return Input(IMAGES, x.name, x)
    if isinstance(x, (str, os.PathLike)):
        path = Path(x).expanduser()
        suffix = path.suffix.lower()
        if path.is_file() and suffix == ".pkl":  # edm2's reference statistics (reference_files.py)
            from .reference_files import reference_statistics

            return Input(STATISTICS, str(path), reference_statistics(path, None))
        if path.is_file() and suffix == ".npz":
            keys = _npz_keys(path)
            if "mu_s" in keys and "mu" in keys and STATISTICS not in accept and "arr_0" in keys:
                # an ADM reference batch where per-image features are needed (precision/recall, KID ...):
                # its images, arr_0 (uint8 NHWC), go through the call's own extractor
                return Input(IMAGES, f"{path} [arr_0]", open_images(path))
            if "mu_s" in keys and "mu" in keys:  # an ADM reference batch: its protocol is known
                from .reference_files import reference_statistics

                return Input(STATISTICS, str(path), reference_statistics(path, "fid"))
            if "mu" in keys and "sigma" in keys:
                return Input(STATISTICS, str(path), load_statistics(path))
            if "pool" in keys or "logits" in keys:
                return Input(FEATURES, str(path), features_from_file(path))
        if path.is_file() and suffix in (".npy", ".npz") and POINTS in accept:
            array = load_array_file(path)
            if _is_points(array):
                return Input(POINTS, str(path), np.asarray(array))
        return Input(IMAGES, str(path), open_images(path))
    if isinstance(x, (np.ndarray, torch.Tensor)) and _is_points(x):
        return Input(POINTS, f"<{type(x).__name__} {tuple(x.shape)}>", np.asarray(x.detach().cpu() if
                                                                                   isinstance(x, torch.Tensor) else x))
    source = open_images(x)
    return Input(IMAGES, source.name, source)


def open_input(x, accept=KINDS, purpose: str = "") -> Input:
    """Open ``x`` once and say what it is (see the module docstring).

    ``accept``: the kinds the caller can use; ``purpose``: what it needs them for, for the message.
    """
    opened = x if isinstance(x, Input) else _classify(x, accept)
    if opened.kind not in accept:
        wanted = " or ".join(_WORDS[k] for k in accept)
        raise GenmetricsError(f"{opened.name} holds {_WORDS[opened.kind]}; {purpose or 'this'} needs {wanted}")
    return opened

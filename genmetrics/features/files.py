"""Per-image features in memory (``Features``) and on disk (the features .npz of ``genmetrics features``).

The file holds ``pool`` (N, D) float32, ``logits`` (N, 1008) when kept, ``files`` (the input's file names in
order) and the protocol as JSON. Reading it checks that every array has one row per image.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._io import NPZ_READ_ERRORS, atomic_write, check_output, unreadable_npz
from ..errors import GenmetricsError
from ..stats import META_KEY, RunningStats, Statistics


@dataclass
class Features:
    """Per-image features: ``features`` (N, dims), ``logits`` (N, 1008) or None, in input order."""

    features: np.ndarray
    logits: np.ndarray | None
    files: list[str] | None
    protocol: dict
    skipped: list[str] = field(default_factory=list)


def save_features(path: str | Path, features: Features, *, force: bool = False, source: str | None = None) -> None:
    """Write ``pool``, ``logits``, ``files`` and the protocol (with n and ``source``) atomically; an
    existing ``path`` is replaced only with ``force``."""
    check_output(path, force=force)
    _write_features(path, features, source)


def _write_features(path: Path, features: Features, source: str | None) -> None:
    meta = {**features.protocol, "skipped": features.skipped, "n": int(len(features.features))}
    if source is not None:
        meta["source"] = source
    arrays = {"pool": features.features, "files": np.array(features.files or [], dtype=str),
              META_KEY: np.array(json.dumps(meta))}
    if features.logits is not None:
        arrays["logits"] = features.logits
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)


def features_from_file(path) -> Features | None:
    """The contents of a features npz (from ``save_features``), or None for any other input; an .npz that
    cannot be read, or whose arrays are not (N, D) rows of the same N, is an error naming it."""
    if not isinstance(path, (str, Path)) or not str(path).lower().endswith(".npz") or not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if "pool" not in data.files and "logits" not in data.files:
                return None
            meta = json.loads(str(data[META_KEY])) if META_KEY in data.files else {}
            pool = data["pool"] if "pool" in data.files else None
            logits = data["logits"] if "logits" in data.files else None
            files = [str(f) for f in data["files"]] if "files" in data.files else None
    except NPZ_READ_ERRORS as exc:
        raise unreadable_npz(path, exc) from None
    _check_feature_rows(path, pool, logits, files)
    meta.pop("n", None)  # written for genmetrics cache list; the protocol is what a fresh run returns
    meta.pop("source", None)
    return Features(pool, logits, files, meta, meta.get("skipped", []))


def _check_feature_rows(path, pool, logits, files) -> None:
    """pool (N, D) and logits (N, K): one row per image, the same N, and as many file names if any."""
    rows = {}
    for name, value in (("pool", pool), ("logits", logits)):
        if value is not None:
            if value.ndim != 2 or value.dtype.kind not in "iuf":
                raise GenmetricsError(f"{path}: {name} is a {value.dtype} array of shape {value.shape}; a "
                                      f"features file holds one row of numbers per image, (N, D)")
            rows[name] = value.shape[0]
    if files:
        rows["files"] = len(files)
    if len(set(rows.values())) > 1:
        counts = ", ".join(f"{name} {count}" for name, count in rows.items())
        raise GenmetricsError(f"{path}: its arrays hold different numbers of images ({counts}); make the "
                              f"features file again with genmetrics features")


def statistics_from_features(features: np.ndarray, meta: dict | None = None, source: str = "") -> Statistics:
    """Mean and covariance of an (N, D) feature array, accumulated in float64."""
    acc = RunningStats()
    acc.update(torch.from_numpy(np.asarray(features)))
    return Statistics(acc.mean(), acc.covariance(), acc.n, meta or {}, source)

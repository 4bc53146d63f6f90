"""Library entry points over the feature engine: features, statistics, and the inputs that hold them."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write
from .._version import __version__
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..stats import META_KEY, RunningStats, Statistics, is_statistics_file, load_statistics
from .extract import FeatureStream, load_extractor, outputs_for


def feature_stream(images, *, dims: int = DEFAULTS.dims, logits: bool = False,
                   resize: str = DEFAULTS.resize, weights=None, device="auto",
                   batch_size: int = DEFAULTS.batch_size, workers: int | None = None,
                   skip_bad: bool = False, progress: bool = True, desc: str = "features") -> FeatureStream:
    """A ``FeatureStream`` over ``images`` with the given options (every public call goes through here)."""
    outputs = outputs_for(dims, logits)
    extractor = load_extractor(resize=resize, weights=weights, device=device, progress=progress)
    return FeatureStream(images, extractor, outputs, batch_size=batch_size, workers=workers,
                         skip_bad=skip_bad, progress=progress, desc=desc)


def protocol_of(stream: FeatureStream, dims: int) -> dict:
    return {**stream.extractor.protocol_record, "dims": dims, "version": __version__}


@dataclass
class Features:
    """Per-image features: ``features`` (N, dims), ``logits`` (N, 1008) or None, in input order."""

    features: np.ndarray
    logits: np.ndarray | None
    files: list[str] | None
    protocol: dict
    skipped: list[str] = field(default_factory=list)


def compute_features(images, *, dims: int = DEFAULTS.dims, logits: bool = True, **options) -> Features:
    """Features of every image in ``images`` (any input ``open_images`` accepts).

    ``dims`` picks the layer (64, 192, 768 or the 2048-d pool); ``logits`` adds the 1008 unbiased logits.
    Options: ``resize`` ("tf", "pytorch-fid", "clean"), ``weights`` (path), ``device``, ``batch_size``,
    ``workers``, ``skip_bad``, ``progress``.
    """
    stream = feature_stream(images, dims=dims, logits=logits, **options)
    parts: dict[str, list] = {str(dims): [], "logits": []}
    for _, feats in stream:
        for name, value in feats.items():
            parts[name].append(value.numpy())
    if stream.n == 0:
        raise GenmetricsError(f"{stream.source.name}: no image could be read")
    kept = None
    if stream.files is not None:
        skipped = set(stream.skipped)
        kept = [f for i, f in enumerate(stream.files) if stream.source.item_name(i) not in skipped]
    return Features(np.concatenate(parts[str(dims)]),
                    np.concatenate(parts["logits"]) if logits else None,
                    kept, protocol_of(stream, dims), stream.skipped)


def save_features(path: str | Path, features: Features) -> None:
    arrays = {"pool": features.features, "files": np.array(features.files or [], dtype=str),
              META_KEY: np.array(json.dumps({**features.protocol, "skipped": features.skipped}))}
    if features.logits is not None:
        arrays["logits"] = features.logits
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)


def features_from_file(path) -> Features | None:
    """The contents of a features npz (from ``save_features``), or None for any other input."""
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
    except (ValueError, OSError):
        return None
    return Features(pool, logits, files, meta, meta.get("skipped", []))


def statistics_from_features(features: np.ndarray, meta: dict | None = None, source: str = "") -> Statistics:
    """Mean and covariance of an (N, D) feature array, accumulated in float64."""
    acc = RunningStats()
    acc.update(torch.from_numpy(np.asarray(features)))
    return Statistics(acc.mean(), acc.covariance(), acc.n, meta or {}, source)


def compute_statistics(images, *, dims: int = DEFAULTS.dims, **options) -> Statistics:
    """Mean and covariance of the features of ``images``, streamed in float64 (constant memory).

    ``images`` may also be a statistics npz (ours, pytorch-fid's or clean-fid's) or a features npz
    from ``genmetrics features``; those are read, not recomputed.
    """
    if is_statistics_file(images):
        return load_statistics(images)
    stored = features_from_file(images)
    if stored is not None and stored.features is not None:
        return statistics_from_features(stored.features, stored.protocol, str(images))
    stream = feature_stream(images, dims=dims, desc=f"stats {_short(images)}", **options)
    acc = RunningStats()
    for _, feats in stream:
        acc.update(feats[str(dims)])
    if acc.n == 0:
        raise GenmetricsError(f"{stream.source.name}: no image could be read")
    meta = {**protocol_of(stream, dims), "skipped": len(stream.skipped)}
    return Statistics(acc.mean(), acc.covariance() if acc.n > 1 else np.full((dims, dims), np.nan),
                      acc.n, meta, stream.source.name)


def compute_logits(images, **options) -> tuple[np.ndarray, dict]:
    """The 1008 unbiased logits of every image (or those stored in a features npz), and the protocol."""
    stored = features_from_file(images)
    if stored is not None:
        if stored.logits is None:
            raise GenmetricsError(f"{images} holds no logits; write it with genmetrics features")
        return stored.logits, stored.protocol
    options.pop("dims", None)
    stream = feature_stream(images, dims=2048, logits=True, desc=f"logits {_short(images)}", **options)
    parts = [feats["logits"].numpy() for _, feats in stream]
    if not parts:
        raise GenmetricsError(f"{stream.source.name}: no image could be read")
    return np.concatenate(parts), {**protocol_of(stream, 2048), "skipped": len(stream.skipped)}


def _short(images) -> str:
    return Path(images).name if isinstance(images, (str, Path)) else type(images).__name__

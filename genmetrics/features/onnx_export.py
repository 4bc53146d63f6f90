"""The onnxruntime backend's exported graphs: exported once per weights file, cached, checked at every load.

``<cache dir>/onnx/<key>-<digest>.onnx``: ``key`` is a SHA-256 over the extractor, its weights' SHA-256, the input
shape and dtype, the outputs, the exporter and the torch, onnx and genmetrics versions (a new version exports
again), ``digest`` the first 16 hex digits of the file's own SHA-256, checked on every load, so a damaged or
truncated file is rebuilt, never trusted; written atomically (temp file + ``os.replace``). An export that
failed is remembered as ``<key>.failed.json`` (features/onnx_backend.py ``onnx_callable``).
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

import torch

from .._version import __version__

# opset 17: the newest the TorchScript-based exporter of torch 2.x writes every op of these networks with.
OPSET = 17
# The TorchScript-based exporter: the torch.export-based one (dynamo=True) needs onnxscript and took 48 s
# against 10 s for the same Inception graph on this project's CPU (measured 2026-11-30, torch 2.14.1).
EXPORTER = "torch.onnx.export(dynamo=False)"


def export_key(identity: dict, example: torch.Tensor, output_names: list[str]) -> str:
    """The cache key of an export: what the graph depends on, and every version that writes it."""
    import onnx

    record = {**identity, "input": [list(example.shape[1:]), str(example.dtype)], "outputs": output_names,
              "exporter": EXPORTER, "opset": OPSET, "torch": torch.__version__, "onnx": onnx.__version__,
              "genmetrics": __version__}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _export_bytes(module: torch.nn.Module, example: torch.Tensor, output_names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notices
        torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=OPSET, input_names=["x"],
                          output_names=output_names, do_constant_folding=True,
                          dynamic_axes={"x": {0: "n"}, **{name: {0: "n"} for name in output_names}})
    return buffer.getvalue()


def _cached(folder: Path, key: str) -> Path | None:
    """The valid cached export for ``key``; damaged ones (content digest not the one in the name) removed."""
    from ..cache import CacheWarning

    for path in sorted(folder.glob(f"{key[:32]}-*.onnx")):
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
        if digest[:16] == path.stem.rpartition("-")[2]:
            return path
        warnings.warn(f"the exported network {path} is damaged (its content does not match its name); "
                      f"removed, exporting again", CacheWarning, stacklevel=4)
        path.unlink(missing_ok=True)
    return None


def exported(module: torch.nn.Module, example: torch.Tensor, identity: dict, output_names: list[str]):
    """The ONNX graph of ``module`` (a path in the cache, or the bytes when the cache cannot be written)."""
    from .. import cache
    from .._io import atomic_write

    key = export_key(identity, example, output_names)
    folder = cache.cache_dir() / cache.ONNX_FOLDER
    found = _cached(folder, key) if folder.is_dir() else None
    if found is not None:
        return str(found)
    data = _export_bytes(module, example, output_names)
    path = folder / f"{key[:32]}-{hashlib.sha256(data).hexdigest()[:16]}.onnx"
    try:
        with atomic_write(path) as handle:
            handle.write(data)
    except OSError as exc:
        cache.warn_unusable("written", exc)
        return data
    return str(path)


def failure_path(key: str) -> Path:
    """Where the reason an export failed is kept, so that later processes do not pay for the attempt."""
    from .. import cache

    return cache.cache_dir() / cache.ONNX_FOLDER / f"{key[:32]}.failed.json"


def known_failure(key: str) -> str | None:
    try:
        return json.loads(failure_path(key).read_text())["why"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_failure(key: str, why: str) -> None:
    """Record a failed export under its key (which holds every version: an upgrade tries again). A cache that
    cannot be written only means the next process tries again."""
    from .._io import atomic_write

    try:
        with atomic_write(failure_path(key), "w") as handle:
            json.dump({"why": why}, handle)
    except OSError:
        pass

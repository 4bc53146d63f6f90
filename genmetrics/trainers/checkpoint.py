"""Checkpoints: one torch file that says how it was made (config), where it stands (step, data order,
RNG states) and what it holds (networks, optimisers). Written atomically; read with ``weights_only=True``
(plain tensors, lists and dicts: loading a checkpoint runs no pickled code).

Layout of a run folder::

    RUN/config.json                 the resolved configuration
    RUN/checkpoints/latest.pt       the last step (every --checkpoint-every steps, at the end, on Ctrl-C/SIGTERM)
    RUN/checkpoints/best.pt         the best evaluation so far (the last checkpoint when there is none)
    RUN/samples/step_NNNNNN.png     sample grids from fixed noise (toy data: scatter plots)
    RUN/metrics.jsonl               one JSON object per line: step, time, losses, evaluations

Every checkpoint carries a SHA-256 of its contents (``checksum``: every tensor's dtype, shape and bytes
and every plain value, walked in a fixed order), recomputed when it is read. A checksum of the contents
rather than of the file keeps loading ``weights_only=True`` with nothing beside the file, and catches
what torch.load does not: its zip reader does not check the CRCs, so flipped bytes in a tensor load as
other numbers (flipped bytes that change nothing loaded, e.g. in the zip's alignment padding, are
harmless and pass). Checkpoints written before the checksum existed (format /1) still load.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from .._io import atomic_write
from ..errors import GenmetricsError
from ..features.weights import state_dict_mismatch
from .config import TrainConfig

# /2 carries a content checksum, which it must have (so a flip in the key's name cannot pass as an old
# checkpoint); /1 (before the checksum) still loads without one.
FORMAT = "genmetrics-gan-checkpoint/2"
FORMATS = ("genmetrics-gan-checkpoint/1", FORMAT)
LATEST, BEST = "latest.pt", "best.pt"


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


# What sampling needs from a checkpoint, and what resuming needs (every checkpoint of genmetrics train has both).
FOR_SAMPLING = ("config", "step", "generator")
FOR_RESUMING = FOR_SAMPLING + ("elapsed", "discriminator", "opt_g", "opt_d", "rng")


def content_checksum(payload: dict) -> str:
    """SHA-256 of ``payload`` without its ``checksum`` entry: tensors by dtype, shape and bytes."""
    digest = hashlib.sha256()

    def walk(value):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().contiguous()
            digest.update(f"T{value.dtype}{tuple(value.shape)}".encode())
            digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            digest.update(f"D{len(value)}".encode())
            for key in sorted(value, key=repr):
                walk(key)
                walk(value[key])
        elif isinstance(value, (list, tuple)):  # a tuple may come back a list: one encoding for both
            digest.update(f"L{len(value)}".encode())
            for item in value:
                walk(item)
        else:
            digest.update(f"{type(value).__name__}:{value!r};".encode())

    walk({k: v for k, v in payload.items() if k != "checksum"})
    return "sha256:" + digest.hexdigest()


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` (tagged with FORMAT and its content checksum) atomically."""
    payload = {"format": FORMAT, **payload}
    payload["checksum"] = content_checksum(payload)
    with atomic_write(path) as handle:
        torch.save(payload, handle)


def read_checkpoint(path: str | Path, required: tuple[str, ...] = FOR_SAMPLING) -> dict:
    """A checkpoint written by ``save_checkpoint`` holding the ``required`` entries; GenmetricsError for
    anything else, or when its contents no longer match its checksum."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (a damaged file fails anywhere in torch.load: zip, pickle, utf-8)
        raise GenmetricsError(f"{path}: not a readable genmetrics checkpoint, damaged or another kind of file "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                              f"{_other_checkpoint_hint(Path(path))}") from None
    if not isinstance(payload, dict) or payload.get("format") not in FORMATS:
        raise GenmetricsError(f"{path}: not a genmetrics training checkpoint (expected {' or '.join(FORMATS)}); "
                              f"make one with genmetrics train")
    checked = payload["format"] == FORMAT or "checksum" in payload
    if checked and payload.get("checksum") != content_checksum(payload):
        raise GenmetricsError(f"{path} is damaged (checksum mismatch); {_other_checkpoint_hint(Path(path))}")
    missing = [key for key in required if key not in payload]
    if missing:
        raise GenmetricsError(f"{path} lacks {', '.join(missing)}: a genmetrics checkpoint holds its config "
                              f"(how the networks were built) and weights; {_other_checkpoint_hint(Path(path))}")
    if not isinstance(payload["config"], dict):
        raise GenmetricsError(f"{path}: its config is a {type(payload['config']).__name__}, not a dict; "
                              f"{_other_checkpoint_hint(Path(path))}")
    return payload


def _other_checkpoint_hint(path: Path) -> str:
    """What to do instead: the run's other checkpoint (copied over latest.pt to resume from it), or retrain."""
    if path.name == LATEST:
        return (f"resume from {path.parent / BEST} (copy it over {path}) or sample from it, or retrain"
                if (path.parent / BEST).is_file() else "retrain")
    if path.name == BEST and (path.parent / LATEST).is_file():
        return f"use {path.parent / LATEST}, or retrain"
    return "use another checkpoint of the run, or retrain"


def find_checkpoint(path: str | Path, prefer: str = BEST) -> Path:
    """A checkpoint file from a run folder (``prefer``, else the other one) or from a .pt path."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        folder = checkpoint_dir(path)
        for name in (prefer, LATEST if prefer == BEST else BEST):
            if (folder / name).is_file():
                return folder / name
        raise GenmetricsError(f"{path} holds no checkpoints/{BEST} or checkpoints/{LATEST}: is it a run folder "
                              f"of genmetrics train?")
    raise GenmetricsError(f"{path}: no such run folder or checkpoint file; train one with genmetrics train")


def config_of(payload: dict, path: str | Path) -> TrainConfig:
    """The TrainConfig stored in a checkpoint read by ``read_checkpoint``."""
    try:
        return TrainConfig.from_dict(payload["config"])
    except TypeError as exc:  # a required field (model, data, out) is missing
        raise GenmetricsError(f"{path}: its config is incomplete ({exc}); {_other_checkpoint_hint(Path(path))}"
                              ) from None


def load_weights(net: torch.nn.Module, state, part: str, config: TrainConfig, path: str | Path) -> None:
    """Load the checkpoint's ``part`` ("generator", "discriminator") into ``net`` built from its config;
    GenmetricsError naming the first mismatch when the config does not describe these weights."""
    mismatch = (f"a {type(state).__name__}, not a state dict" if not isinstance(state, dict)
                else state_dict_mismatch(net, state, "the network its config describes"))
    if mismatch:
        described = ", ".join(f"{k} {getattr(config, k)}" for k in ("model", "image_size", "channels", "z_dim",
                                                                    "g_width", "d_width", "num_classes"))
        raise GenmetricsError(f"{path}: its config ({described}) does not match its {part} weights: {mismatch}; "
                              f"was the config edited? Restore it, or retrain")
    net.load_state_dict(state)

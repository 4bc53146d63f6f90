"""Feature extractors by name.

  inception         the FID InceptionV3 (default): 64/192/768/2048-d features and the 1008 logits
  vgg16             torchvision's VGG16, fc2 features after ReLU (4096-d) at 224x224 with ImageNet
                    normalisation, as torch-fidelity's ``vgg16`` extractor (its ``prc`` default layer);
                    the feature space of the original precision/recall paper (Kynkaanniemi et al. 2019)
  dinov2-vit-s14/b14/l14/g14
                    DINOv2 (Oquab et al. 2023), the CLS output (384/768/1024/1536-d) at 224 px with ImageNet
                    normalisation; resize protocols dgm-eval (default), edm2, torch-fidelity (features/vit.py)
  clip-vit-b32/l14/l14-336
                    CLIP image embeddings (512/768/768-d) with CLIP's normalisation; resize
                    protocols cmmd (default) and torch-fidelity (features/vit.py)
  digits            a LeNet-5-like classifier of the bundled digits (features/digits.py): 128-d features and
                    10 logits, grey at 32 px; its weights ship with the package (SHA-256 pinned)
  stacked-digits    the same classifier on each RGB channel: 384-d features and 1,000 logits (stacked digits)
  torchscript:PATH  any network saved as TorchScript, torch.export (.pt2) or ONNX (.onnx) mapping an image
                    batch to (N, D) features (genmetrics/model_files.py); its input is
                    [0, 1] floats (or uint8 with ``extractor_input="uint8"``) at ``size`` pixels

``register_extractor(name, build, size=..., normalize=...)`` adds one from Python: ``build(device,
weights)`` returns a callable mapping a preprocessed (N, 3, size, size) batch to (N, D) features.
Weights of every extractor follow the same rules as the Inception weights: an explicit path, an
environment variable, the cache, then a checked download where a canonical URL exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..defaults import DEFAULTS, FEATURE_DIMS, PRECISIONS
from ..errors import GenmetricsError
from . import digits, onnx_backend
from .builders import build_inception, build_torchscript, build_vgg16
from .inception import INPUT_SIZE
from .preprocess import NORMALIZATIONS, Protocol
from .vit import CLIP, DINOV2, build_clip, build_dinov2, clip_weights, dinov2_weights
from .weights import VGG16, is_canonical, resolve_weights, sha256_of

_models: dict[tuple, object] = {}
# fp32 is exact and the default (defaults.PRECISIONS). tf32 (CUDA matmuls/convs with 10-bit mantissas) and
# bf16 (autocast) are faster but move features: bf16 by ~27% of their scale on this project's CPU measurement
# (issue 3), so they are opt-in only and recorded in every result. fp64 runs the network (not the resize,
# which each protocol defines in float32) in float64 and keeps the features in float64.


@dataclass
class Extractor:
    """A loaded network, its device and protocol, and what it can output."""

    name: str
    model: Callable
    device: torch.device
    protocol: Protocol
    weights_path: Path | None
    weights_sha256: str | None
    outputs: tuple[str, ...] = ("features",)
    precision: str = "fp32"
    backend: str = "torch"  # what runs the network: torch or onnxruntime (features/onnx_backend.py)
    backend_note: str | None = None  # why an extractor asked for onnxruntime runs under torch

    def select(self, dims: int, logits: bool | None) -> tuple[frozenset, str]:
        """The outputs to compute and the key of the feature output, for ``dims`` and ``logits``."""
        if self.name != "inception":
            has_logits = "logits" in self.outputs
            if logits and not has_logits:
                raise GenmetricsError(f"logits (for IS) come from the inception extractor or the digits "
                                      f"classifier (digits, stacked-digits), not {self.name}")
            return frozenset({"features"} | ({"logits"} if has_logits and logits is not False else set())), "features"
        if dims == "spatial":  # sFID's mixed_6/conv features (inception.spatial_features)
            return frozenset({"spatial"} | ({"logits"} if logits else set())), "spatial"
        if dims not in FEATURE_DIMS:
            raise GenmetricsError(f"--dims {dims} is not available; choose one of {FEATURE_DIMS}")
        return frozenset({str(dims)} | ({"logits"} if logits is not False else set())), str(dims)

    @property
    def protocol_record(self) -> dict:
        record = {"extractor": self.name, "resize": self.protocol.name, "input_size": self.protocol.size,
                  "weights_sha256": self.weights_sha256, "precision": self.precision, "backend": self.backend}
        if self.backend_note:
            record["backend_note"] = self.backend_note
        if self.name == "inception":
            record["weights_canonical"] = is_canonical(self.weights_sha256)
        return record


def _single_output(model):
    """Wrap a features-only callable into the ``model(x, outputs) -> dict`` interface."""
    def run(x, outputs):
        features = model(x)
        if not isinstance(features, torch.Tensor) or features.dim() != 2:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise GenmetricsError(f"the extractor returned {shape}; it must return (N, D) features")
        return {"features": features}
    return run


def _features_and_logits(model):
    """Wrap a callable returning (features, logits) into the ``model(x, outputs) -> dict`` interface."""
    def run(x, outputs):
        features, logits = model(x)
        return {"features": features, **({"logits": logits} if "logits" in outputs else {})}
    return run


def _as_float64(model, name: str):
    """The network in float64 (``--precision fp64``): its parameters and buffers converted once."""
    if not isinstance(model, torch.nn.Module):
        raise GenmetricsError(f"--precision fp64 needs the extractor {name!r} to be a torch.nn.Module (its build "
                              f"returned a {type(model).__name__}, which cannot be converted to float64); use "
                              f"fp32, or return the module itself from its build function")
    return model.double()


@dataclass(frozen=True)
class _Registered:
    build: Callable
    size: int
    normalize: str
    weights: object = None  # a WeightsSpec, or None when no weights file is needed
    resize: str = "tf"  # the resize protocol when none is given
    logits: bool = False  # build's callable returns (features, logits)
    default_weights: Path | None = None  # a file shipped with the package, used without --extractor-weights
    protocol: Callable | None = None  # its own preprocessing (a Protocol), instead of --resize's


_REGISTRY: dict[str, _Registered] = {
    "vgg16": _Registered(build_vgg16, 224, "imagenet", VGG16),  # 224: VGG's input (Simonyan & Zisserman 2015)
    # dgm-eval by default: the protocol of the FD_DINOv2 leaderboard (Stein et al. 2023), which edm2's 'pil'
    # mode reproduces exactly; 224 px: every reference resizes to it (features/vit.py).
    **{name: _Registered(build_dinov2(name), 224, "imagenet", dinov2_weights(name), "dgm-eval") for name in DINOV2},
    # cmmd by default: google-research cmmd's preprocessing (io_util.py, embedding.py).
    **{name: _Registered(build_clip(name), CLIP[name][1], "clip", clip_weights(name), "cmmd") for name in CLIP},
    "digits": _Registered(digits.build_digits, digits.INPUT_SIZE, "unit", logits=True,
                          default_weights=digits.WEIGHTS_PATH, protocol=lambda: digits.DigitsProtocol(grey=True)),
    "stacked-digits": _Registered(digits.build_stacked, digits.INPUT_SIZE, "unit", logits=True,
                                  default_weights=digits.WEIGHTS_PATH,
                                  protocol=lambda: digits.DigitsProtocol(grey=False)),
}


def register_extractor(name: str, build: Callable, *, size: int = 224, normalize: str = "unit",
                       weights=None, override: bool = False, default_resize: str = "tf",
                       logits: bool = False) -> None:
    """Make ``name`` usable as ``extractor=name`` / ``--extractor name``.

    ``build(device, weights_path_or_None)`` returns a callable mapping an (N, 3, size, size) batch,
    normalised as ``normalize`` ("unit" [0, 1], "imagenet", "inception" [-1, 1], "uint8"), to (N, D)
    features, or with ``logits=True`` (a classifier) to a tuple (features, (N, K) logits), which IS and
    class coverage use. ``weights`` is an optional ``genmetrics.features.weights.WeightsSpec``;
    ``default_resize`` the resize protocol used when the caller gives none.
    """
    if not isinstance(name, str) or not name or ":" in name or name == "inception":
        raise ValueError(f"extractor name {name!r} must be a non-empty string without ':' and not 'inception'")
    if name in _REGISTRY and not override:
        raise ValueError(f"extractor {name!r} is already registered; pass override=True to replace it")
    if not callable(build) or normalize not in NORMALIZATIONS or int(size) < 1:
        raise ValueError("build must be callable, size positive, normalize one of " + ", ".join(NORMALIZATIONS))
    _REGISTRY[name] = _Registered(build, int(size), normalize, weights, Protocol(default_resize).name,
                                  bool(logits))


def extractor_names() -> list[str]:
    return ["inception", *sorted(_REGISTRY), "torchscript:PATH"]


def load_extractor(name: str = DEFAULTS.extractor, *, resize: str = DEFAULTS.resize, weights=None,
                   device=DEFAULTS.device,
                   size: int | None = None, extractor_weights=None, extractor_input: str = DEFAULTS.extractor_input,
                   precision: str = DEFAULTS.precision, progress: bool = True,
                   backend: str = DEFAULTS.backend) -> Extractor:
    """Load (once per process) the extractor ``name`` on ``device`` under the ``resize`` protocol.

    ``weights`` are the Inception weights; ``extractor_weights`` those of another extractor; ``backend``
    "torch", "onnxruntime" or "auto" (onnxruntime on the CPU when installed; features/onnx_backend.py).
    """
    from ..device import resolve_device

    device = resolve_device(device)
    if precision not in PRECISIONS:
        raise GenmetricsError(f"--precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    backend = onnx_backend.choose_backend(backend, device, precision)
    if precision == "tf32" and device.type != "cuda":
        raise GenmetricsError("--precision tf32 is a CUDA GPU mode (TensorFloat-32); on CPU use fp32 or bf16")
    if name == "inception":
        path = resolve_weights(weights, progress=progress)
        resize = resize or "tf"
        build, protocol, outputs = build_inception, Protocol(resize), ("64", "192", "spatial", "768", "2048", "logits")
    elif name.startswith("torchscript:"):
        path = Path(name.partition(":")[2]).expanduser()
        if not path.is_file():
            raise GenmetricsError(f"--extractor {name}: {path} " + ("is not a file" if path.exists()
                                                                     else "does not exist"))
        if size is None:
            raise GenmetricsError(f"--extractor {name} needs --extractor-size (its input resolution)")
        if extractor_input not in ("float", "uint8"):
            raise GenmetricsError(f"--extractor-input must be float or uint8, got {extractor_input!r}")
        build, outputs = build_torchscript, ("features",)
        protocol = Protocol(resize or "tf", size, "unit" if extractor_input == "float" else "uint8")
    elif name in _REGISTRY:
        entry = _REGISTRY[name]
        path = (resolve_weights(extractor_weights, progress, entry.weights, "--extractor-weights")
                if entry.weights is not None else (Path(extractor_weights) if extractor_weights
                                                   else entry.default_weights))
        build, outputs = entry.build, ("features", "logits") if entry.logits else ("features",)
        protocol = entry.protocol() if entry.protocol else Protocol(resize or entry.resize, size or entry.size, entry.normalize)
    else:
        raise GenmetricsError(f"unknown extractor {name!r}; choose one of {', '.join(extractor_names())}")
    sha = sha256_of(path) if path is not None else None
    key = (name, sha, str(device), precision == "fp64", backend)
    if backend == "onnxruntime" and name != "inception":  # the graph is traced at the protocol's input
        key += (protocol.name, protocol.size)
    if key not in _models:
        _models[key] = _build(name, build, device, path, sha, precision, outputs, protocol, backend)
    model, backend, note = _models[key]
    return Extractor(name, model, device, protocol, path, sha, outputs, precision, backend, note)


def _build(name, build, device, path, sha, precision, outputs, protocol, backend) -> tuple:
    """(the ``model(x, outputs) -> dict`` callable, the backend that runs it, and why onnxruntime was asked
    for but torch runs, or None)."""
    if name == "inception":
        net = build(device, path, precision == "fp64")
        if backend == "onnxruntime":
            return onnx_backend.InceptionOnnx(net, {"extractor": name, "weights_sha256": sha}), backend, None
        return net, backend, None
    model = build(device, path)
    if getattr(model, "backend", None) == "onnxruntime":  # an ONNX file: onnxruntime runs it whatever is asked
        if precision == "fp64":
            raise GenmetricsError(f"--precision fp64: {path} is an ONNX graph, which runs as it was exported")
        backend = "onnxruntime"
    elif precision == "fp64":
        model = _as_float64(model, name)
    note = None
    if backend == "onnxruntime" and getattr(model, "backend", None) != "onnxruntime":
        model, note = onnx_backend.exported_extractor(model, name, sha, protocol)
    return (_features_and_logits(model) if "logits" in outputs else _single_output(model)), \
        "torch" if note else backend, note


__all__ = ["Extractor", "INPUT_SIZE", "extractor_names", "load_extractor", "register_extractor"]

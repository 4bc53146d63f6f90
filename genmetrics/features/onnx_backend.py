"""The onnxruntime CPU backend: the same fused networks, exported once to ONNX and run by onnxruntime.

``--backend auto`` (the default) runs onnxruntime on the CPU when ``genmetrics[onnx]`` is installed and the
precision is fp32, torch otherwise (CUDA always stays with torch); ``--backend torch|onnxruntime`` forces one.
The network is exactly the torch path's (Inception with its BatchNorms folded, features/inception.py), exported
once per weights file and output set and cached by features/onnx_export.py.

Why onnxruntime: on this project's 2-core CPU the exported graph ran InceptionV3 at 24.8 img/s against
torch's 17.5 (issue 17), with features within float32 round-off of torch's (the tests bound it by 1e-5 of
the largest feature, per protocol). Threads: see docs/speed.md.
"""
from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import torch

from ..defaults import BACKENDS
from ..errors import GenmetricsError
from .onnx_export import export_key, exported, known_failure, remember_failure

ENV_BACKEND = "GENMETRICS_BACKEND"  # what ``auto`` means when set (torch or onnxruntime)
VERIFY_TOLERANCE = 1e-4  # an export whose outputs differ from torch's by more (of their scale) is not used
INSTALL_HINT = "pip install genmetrics[onnx]"
# onnxruntime's threads spin-wait between ops by default; spinning takes the cores that decode and resize the
# next batch in the DataLoader workers, so it is off (measured: docs/speed.md, benchmarks/backend_threads.py).
ALLOW_SPINNING = "0"


def available() -> bool:
    """onnxruntime and onnx are installed (the ``onnx`` extra)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def choose_backend(backend: str, device: torch.device, precision: str) -> str:
    """The backend that runs: ``torch`` or ``onnxruntime``; ``auto`` picks onnxruntime on the CPU at fp32
    when installed ($GENMETRICS_BACKEND, when set, says what ``auto`` means)."""
    if backend not in BACKENDS:
        raise GenmetricsError(f"--backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto" and os.environ.get(ENV_BACKEND):
        backend = os.environ[ENV_BACKEND]
        if backend not in BACKENDS[1:]:
            raise GenmetricsError(f"${ENV_BACKEND}={backend!r}; set it to torch or onnxruntime, or unset it")
        if backend == "onnxruntime" and not (available() and device.type == "cpu" and precision == "fp32"):
            backend = "torch"  # the variable sets a preference for auto, not a requirement
    if backend == "torch":
        return "torch"
    if backend == "onnxruntime":
        if not available():
            raise GenmetricsError(f"--backend onnxruntime needs onnxruntime and onnx: {INSTALL_HINT}")
        if device.type != "cpu":
            raise GenmetricsError(f"--backend onnxruntime runs on the CPU, not {device}; pass --device cpu, "
                                  f"or --backend torch (auto uses torch on CUDA)")
        if precision != "fp32":
            raise GenmetricsError(f"--backend onnxruntime runs fp32 only, not --precision {precision}; use "
                                  f"--backend torch for {precision}")
        return "onnxruntime"
    return "onnxruntime" if device.type == "cpu" and precision == "fp32" and available() else "torch"


def intra_op_threads() -> int:
    """onnxruntime's threads: torch's intra-op thread count (one per core unless the user set it), so that
    both backends use the cores alike (measured in docs/speed.md)."""
    return max(1, torch.get_num_threads())


class OnnxNetwork:
    """An exported graph run by onnxruntime: ``net(x, names)`` -> the named outputs as torch tensors."""

    def __init__(self, model: str | bytes):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", ALLOW_SPINNING)
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.names = [o.name for o in self.session.get_outputs()]

    def __call__(self, x: torch.Tensor, names=None) -> list[torch.Tensor]:
        array = np.ascontiguousarray(x.detach().cpu().numpy())
        return [torch.from_numpy(a) for a in self.session.run(names, {self.input: array})]


class _Outputs(torch.nn.Module):
    """A callable returning a tensor or a tuple, as a module returning a tuple (what the exporter traces)."""

    def __init__(self, call, modules=()):
        super().__init__()
        self.call, self.owned = call, torch.nn.ModuleList([m for m in modules if isinstance(m, torch.nn.Module)])

    def forward(self, x):
        out = self.call(x)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _close(ours: list[torch.Tensor], reference: list[torch.Tensor]) -> bool:
    if len(ours) != len(reference):
        return False
    for a, b in zip(ours, reference):
        scale = float(b.abs().max()) or 1.0
        if a.shape != b.shape or not float((a - b.to(a.dtype)).abs().max()) <= VERIFY_TOLERANCE * scale:
            return False
    return True


def onnx_callable(model, example: torch.Tensor, identity: dict):
    """``model`` (a callable returning a tensor or a tuple) run by onnxruntime, with the same outputs; or
    (None, why) when it does not export cleanly or its export does not reproduce it.

    A failure is remembered in the cache (``<cache>/onnx/<key>.failed.json``), so that the next process
    does not spend the export again (DINOv2-L/14 takes minutes to fail: its graph exceeds protobuf's 2 GiB);
    ``genmetrics cache clear`` forgets it. Running out of memory is not remembered: it may not recur.
    """
    module = _Outputs(model, [model])
    with torch.no_grad():
        raw = model(example)
    reference = list(raw) if isinstance(raw, (tuple, list)) else [raw]
    names = [f"out{i}" for i in range(len(reference))]
    key = export_key(identity, example, names)
    known = known_failure(key)
    if known is not None:
        return None, f"{known} (remembered from an earlier run: genmetrics cache clear to try again)"
    try:
        network = OnnxNetwork(exported(module, example, identity, names))
        ours = network(example)
    except MemoryError:
        return None, "export failed: out of memory"
    except Exception as exc:  # the exporter raises many types for an op it cannot write
        why = f"export failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        remember_failure(key, why)
        return None, why
    if not _close(ours, reference):
        why = f"the exported graph differs from torch by more than {VERIFY_TOLERANCE:g} of the scale"
        remember_failure(key, why)
        return None, why
    single = isinstance(raw, torch.Tensor)

    def run(x):
        out = network(x)
        return out[0] if single else tuple(out)
    return run, None


def exported_extractor(model, name: str, weights_sha256: str | None, protocol):
    """(``model`` under onnxruntime, None), or (``model`` itself, why it runs under torch) when it has no
    weights file to key the export on or does not export cleanly (with a warning)."""
    if weights_sha256 is None:
        return model, "onnxruntime: no weights file to key the exported graph on; ran under torch"
    exported, why = onnx_callable(model, example_input(protocol), {"extractor": name, "weights_sha256": weights_sha256})
    if exported is not None:
        return exported, None
    note = f"onnxruntime: {why}; ran under torch"
    warnings.warn(f"the extractor {name} runs under torch: {note}", stacklevel=5)
    return model, note


def example_input(protocol) -> torch.Tensor:
    """Two network inputs as ``protocol`` makes them from random images (the exporter traces on them)."""
    rng = np.random.default_rng(0)
    images = [protocol.on_cpu(rng.integers(0, 256, (protocol.size, protocol.size, 3), dtype=np.uint8))
              for _ in range(2)]
    return protocol.on_device(torch.stack(images)).contiguous()


# The Inception's outputs in the order its forward pass reaches them (features/inception.py).
INCEPTION_ORDER = ("64", "192", "spatial", "768", "2048", "logits")


def inception_graph_outputs(outputs) -> list[str]:
    """The outputs of the graph that serves ``outputs``: every dimension up to the deepest one asked for
    (so that one graph serves all of them; onnxruntime runs the whole graph whatever is asked, measured),
    and sFID's spatial features only when asked (they cost a second 1x1 conv otherwise)."""
    deepest = max(INCEPTION_ORDER.index(name) for name in outputs)
    return [n for i, n in enumerate(INCEPTION_ORDER) if i <= deepest and (n != "spatial" or n in outputs)]


class _InceptionOutputs(torch.nn.Module):
    def __init__(self, net, names):
        super().__init__()
        self.net, self.names = net, names

    def forward(self, x):
        found = self.net(x, frozenset(self.names))
        return tuple(found[name] for name in self.names)


class InceptionOnnx:
    """The fused FID Inception under onnxruntime, with the torch model's ``model(x, outputs) -> dict``
    interface; one exported graph per deepest output (exported at its first use)."""

    backend_note = None

    def __init__(self, net: torch.nn.Module, identity: dict):
        self.net, self.identity, self.graphs = net, identity, {}

    def __call__(self, x: torch.Tensor, outputs) -> dict[str, torch.Tensor]:
        names = inception_graph_outputs(outputs)
        key = tuple(names)
        if key not in self.graphs:
            module = _InceptionOutputs(self.net, names).eval()
            example = x[:2].contiguous()
            network = OnnxNetwork(exported(module, example, {**self.identity, "graph": "inception"},
                                           [f"out_{n}" for n in names]))
            self.graphs[key] = network
        wanted = [name for name in names if name in outputs]
        values = self.graphs[key](x, [f"out_{n}" for n in wanted])
        return dict(zip(wanted, values))


__all__ = ["BACKENDS", "InceptionOnnx", "OnnxNetwork", "available", "choose_backend", "onnx_callable"]

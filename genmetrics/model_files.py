"""Networks saved as files: TorchScript, ``torch.export`` programs (.pt2) and ONNX, behind one loader.

``torch.jit.script`` is deprecated in torch 2.14 ("switch to torch.compile or torch.export"), so generators
(``genmetrics sweep GENERATOR --z-dim Z``) and extractors (``--extractor torchscript:PATH``) may be any of:

  .onnx   an ONNX graph, run by onnxruntime on the CPU (``genmetrics[onnx]``), as torch-fidelity accepts
          ONNX generators; its outputs are copied to the device the caller runs on
  .pt2    a ``torch.export.save``d program (``torch.export.load(path).module()``)
  other   a TorchScript archive (``torch.jit.save``)

Each loads as a callable with the same interface: a tensor in (a generator's z (N, Z), an extractor's image
batch), a tensor out (or a tuple of them for a graph with several outputs).
"""
from __future__ import annotations

from pathlib import Path

import torch

from .errors import GenmetricsError

HOW_TO_SAVE = ("torch.export.save(torch.export.export(model, (example,)), 'net.pt2'), torch.onnx.export(model, "
               "(example,), 'net.onnx', dynamic_axes={...}) or torch.jit.script(model).save('net.pt')")


def network_format(path) -> str:
    """"onnx", "export" or "torchscript", from the file name (ONNX and both zip formats have no common magic)."""
    suffix = Path(path).suffix.lower()
    return {".onnx": "onnx", ".pt2": "export"}.get(suffix, "torchscript")


class _OnnxFile:
    """An ONNX file as a torch callable: inputs to the CPU for onnxruntime, outputs back to ``device``."""

    backend = "onnxruntime"

    def __init__(self, path: Path, device: torch.device):
        from .features.onnx_backend import INSTALL_HINT, OnnxNetwork, available

        if not available():
            raise GenmetricsError(f"{path}: an ONNX file needs onnxruntime: {INSTALL_HINT}")
        self.network, self.device = OnnxNetwork(str(path)), device

    def __call__(self, x: torch.Tensor):
        out = [value.to(self.device) for value in self.network(x)]
        return out[0] if len(out) == 1 else tuple(out)


def load_network(path, device: torch.device, what: str = "network"):
    """The network saved in ``path`` (TorchScript, .pt2 or .onnx) on ``device``, as a callable; a file that
    is not one raises ``GenmetricsError`` naming the format tried and how to save each one."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GenmetricsError(f"{path}: the {what} file " + ("is not a file" if path.exists() else "does not exist"))
    kind = network_format(path)
    try:
        if kind == "onnx":
            return _OnnxFile(path, device)
        if kind == "export":
            return torch.export.load(str(path)).module().to(device)
        return torch.jit.load(str(path), map_location=device).eval()
    except GenmetricsError:
        raise
    except Exception as exc:  # each format raises RuntimeError, ValueError, OSError, protobuf errors...
        name = {"onnx": "an ONNX", "export": "a torch.export (.pt2)", "torchscript": "a TorchScript"}[kind]
        raise GenmetricsError(f"{path}: not {name} file, so not a {what} ({type(exc).__name__}: "
                              f"{str(exc)[:160]}); save one with {HOW_TO_SAVE}") from None


__all__ = ["load_network", "network_format"]

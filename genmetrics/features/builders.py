"""The networks of the built-in extractors that load a weights file: the FID InceptionV3 (pytorch-fid's
state dict format), torchvision's VGG16, and a TorchScript / torch.export / ONNX file (model_files.py)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import GenmetricsError
from .inception import FIDInceptionV3
from .weights import state_dict_mismatch


def load_state_dict(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GenmetricsError(f"{path}: cannot load the weights file ({exc})") from None
    if not isinstance(state, dict):
        raise GenmetricsError(f"{path}: expected a state dict, found a {type(state).__name__}")
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def build_inception(device: torch.device, path: Path, float64: bool = False):
    """The fused network; with ``float64`` converted before the BatchNorms are folded, so that the folded
    weights carry no float32 round-off."""
    model = FIDInceptionV3()
    state = load_state_dict(path)
    mismatch = state_dict_mismatch(model, state)
    if mismatch:
        raise GenmetricsError(f"{path} is not an FID InceptionV3 state dict (pytorch-fid's format): {mismatch}")
    refuse_uncalibrated(path, state)
    model.load_state_dict(state, strict=False)  # strict=False: files without num_batches_tracked load too
    model = model.to(torch.float64 if float64 else torch.float32).eval().fuse().to(device)
    return model.to(memory_format=torch.channels_last).requires_grad_(False)


def refuse_uncalibrated(path: Path, state: dict) -> None:
    """Refuse a freshly initialised network: every BatchNorm still at PyTorch's initial running statistics
    (mean 0, variance 1). Trained weights (and ``genmetrics.testing.write_random_weights``) never have them;
    such a network shrinks its activations layer after layer (to about 1e-7 at the 2048-d pool, measured
    on this project's tests), which gives an FID of 0.000000 whatever the images."""
    means = [v for k, v in state.items() if k.endswith("running_mean")]
    variances = [v for k, v in state.items() if k.endswith("running_var")]
    if means and all(bool((m == 0).all()) for m in means) and all(bool((v == 1).all()) for v in variances):
        raise GenmetricsError(
            f"{path}: every BatchNorm has its initial running statistics (mean 0, variance 1): an untrained "
            f"network whose features are degenerate. Use the FID weights (pytorch-fid's "
            f"pt_inception-2015-12-05-6726825d.pth); for random test weights use "
            f"genmetrics.testing.write_random_weights, which calibrates them")


def build_vgg16(device: torch.device, path: Path):
    import torchvision

    net = torchvision.models.vgg16()
    state = load_state_dict(path)
    mismatch = state_dict_mismatch(net, state)
    if mismatch:
        raise GenmetricsError(f"{path} is not a torchvision VGG16 state dict: {mismatch}")
    net.load_state_dict(state)
    net.classifier = net.classifier[:5]  # fc1, ReLU, dropout, fc2, ReLU: torch-fidelity's fc2_relu
    return net.eval().to(device).requires_grad_(False)


def build_torchscript(device: torch.device, path: Path):
    """``--extractor torchscript:PATH``: a TorchScript, torch.export (.pt2) or ONNX file (model_files.py)."""
    from ..model_files import load_network

    return load_network(path, device, "feature extractor")

"""Generators and extractors saved as TorchScript, torch.export (.pt2) and ONNX: one loader, the same outputs.

Tolerance: 1e-6 of the largest value. TorchScript and .pt2 run torch's own kernels (measured: identical);
ONNX runs onnxruntime's, whose float32 sums differ in order (measured: ~1e-7 on these tiny nets).
"""
import warnings

import numpy as np
import pytest
import torch

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.model_files import load_network
from genmetrics.sweep import generate, open_generator

Z_DIM, TOLERANCE = 4, 1e-6


class TinyGenerator(torch.nn.Module):
    """z (N, 4) -> images (N, 3, 8, 8) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(Z_DIM, 3 * 8 * 8)

    def forward(self, z):
        return torch.tanh(self.fc(z)).reshape(-1, 3, 8, 8)


class TinyExtractor(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def save(model, example, path):
    """``model`` saved as ``path``'s format, with a free batch dimension (what the README shows)."""
    model = model.eval()
    if path.suffix == ".pt2":
        batch = torch.export.Dim("batch")
        torch.export.save(torch.export.export(model, (example,), dynamic_shapes=({0: batch},)), str(path))
    elif path.suffix == ".onnx":
        pytest.importorskip("onnxruntime")
        # dynamo=False: the exporter onnx_export.EXPORTER uses (the default one needs onnxscript)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # that exporter's deprecation notice
            torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    else:
        torch.jit.script(model).save(str(path))
    return str(path)


def relative(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generators")
    example = torch.zeros(2, Z_DIM)
    return {suffix: save(TinyGenerator(), example, folder / f"g{suffix}") for suffix in (".pt", ".pt2", ".onnx")}


@pytest.mark.parametrize("suffix", [".pt", ".pt2", ".onnx"])
def test_generator_formats_give_the_same_images(generators, suffix):
    z = torch.randn(5, Z_DIM, generator=torch.Generator().manual_seed(0))  # not the export's batch of 2
    with torch.no_grad():
        expected = TinyGenerator().eval()(z)
    net = load_network(generators[suffix], torch.device("cpu"), "generator")
    with torch.no_grad():
        assert relative(net(z), expected) < TOLERANCE
    # Through the sweep's loader and sampler: uint8 images, the same as the TorchScript file's.
    model, z_dim, _ = open_generator(generators[suffix], Z_DIM, device="cpu")
    images = np.concatenate([b.numpy() for b in generate(model, z.numpy(), 3, torch.device("cpu"))])
    reference, _, _ = open_generator(generators[".pt"], Z_DIM, device="cpu")
    same = np.concatenate([b.numpy() for b in generate(reference, z.numpy(), 3, torch.device("cpu"))])
    assert z_dim == Z_DIM and images.dtype == np.uint8 and images.shape == (5, 3, 8, 8)
    # A value within round-off of a rounding boundary may land one level apart.
    assert np.abs(images.astype(int) - same.astype(int)).max() <= (0 if suffix != ".onnx" else 1)


@pytest.mark.parametrize("suffix", [".pt2", ".onnx"])
def test_extractor_formats(tmp_path, real_images, suffix):
    path = save(TinyExtractor(), torch.zeros(2, 3, 24, 24), tmp_path / f"e{suffix}")
    options = dict(extractor_size=24, progress=False, device="cpu", cache=False)
    ours = genmetrics.compute_features(real_images[:4], extractor=f"torchscript:{path}", **options)
    scripted = save(TinyExtractor(), None, tmp_path / "e.pt")
    reference = genmetrics.compute_features(real_images[:4], extractor=f"torchscript:{scripted}", **options)
    assert relative(ours.features, reference.features) < TOLERANCE
    assert ours.protocol["backend"] == ("onnxruntime" if suffix == ".onnx" else "torch")


@pytest.mark.parametrize("suffix, kind", [(".pt2", "torch.export"), (".onnx", "ONNX"), (".pt", "TorchScript")])
def test_damaged_files_name_the_format_and_the_fix(tmp_path, suffix, kind):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(b"not a network")
    with pytest.raises(GenmetricsError, match=f"not an? {kind}.*torch.export.save"):
        load_network(path, torch.device("cpu"), "generator")
    with pytest.raises(GenmetricsError, match="does not exist"):
        load_network(tmp_path / "missing.pt2", torch.device("cpu"), "generator")

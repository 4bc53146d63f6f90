"""The extractor registry: TorchScript files, extractors registered in code, VGG16 against torch-fidelity."""
import pytest
import torch

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.features.preprocess import Protocol
from genmetrics.features.registry import register_extractor
from tests.helpers import relative_error


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)

    def forward(self, x):
        return torch.relu(self.conv(x.float())).mean(dim=(2, 3))


def expected_features(images, size, normalize):
    protocol = Protocol("tf", size, normalize)
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    with torch.no_grad():
        return TinyNet()(protocol.on_device(batch)).numpy()


def test_torchscript_extractor(tmp_path, real_images):
    path = tmp_path / "tiny.pt"
    torch.jit.script(TinyNet()).save(str(path))
    result = genmetrics.compute_features(real_images, extractor=f"torchscript:{path}", extractor_size=48,
                                         progress=False)
    assert result.features.shape == (24, 8) and result.logits is None
    assert result.protocol["extractor"] == f"torchscript:{path}" and result.protocol["input_size"] == 48
    # Same preprocessing, same module: float32 round-off only.
    assert relative_error(result.features, expected_features(real_images, 48, "unit")) < 1e-6
    as_uint8 = genmetrics.compute_features(real_images, extractor=f"torchscript:{path}", extractor_size=48,
                                           extractor_input="uint8", progress=False)
    assert relative_error(as_uint8.features, expected_features(real_images, 48, "uint8")) < 1e-6


def test_registered_extractor_drives_fid_and_kid(real_images, fake_images):
    register_extractor("tiny-test", lambda device, weights: TinyNet().to(device), size=32, override=True)
    result = genmetrics.evaluate(real_images, fake_images, metrics="fid,kid,precision", extractor="tiny-test",
                                 kid_subsets=3, progress=False)
    assert result["protocol"]["extractor"] == "tiny-test" and result["protocol"]["dims"] == 8
    assert result["fid"] > 0
    with pytest.raises(ValueError, match="already registered"):
        register_extractor("tiny-test", lambda device, weights: TinyNet())


def test_extractor_errors(tmp_path, real_images):
    with pytest.raises(GenmetricsError, match="unknown extractor"):
        genmetrics.compute_features(real_images, extractor="nope", progress=False)
    with pytest.raises(GenmetricsError, match="is not a file"):
        genmetrics.compute_features(real_images, extractor=f"torchscript:{tmp_path}", progress=False)
    torch.jit.script(TinyNet()).save(str(tmp_path / "tiny.pt"))
    with pytest.raises(GenmetricsError, match="--extractor-size"):
        genmetrics.compute_features(real_images, extractor=f"torchscript:{tmp_path / 'tiny.pt'}", progress=False)
    (tmp_path / "bad.pt").write_bytes(b"nope")
    with pytest.raises(GenmetricsError, match="not a TorchScript file"):
        genmetrics.compute_features(real_images, extractor=f"torchscript:{tmp_path / 'bad.pt'}",
                                    extractor_size=32, progress=False)
    with pytest.raises(GenmetricsError, match="inception extractor"):
        register_extractor("tiny-test2", lambda device, weights: TinyNet(), size=32, override=True)
        genmetrics.evaluate(real_images, real_images, metrics="is", extractor="tiny-test2", progress=False)


def test_vgg16_matches_torch_fidelity(tmp_path, real_images):
    import torchvision
    from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

    torch.manual_seed(0)
    torch.save(torchvision.models.vgg16().state_dict(), tmp_path / "vgg.pth")
    images = real_images[:3]
    theirs = FeatureExtractorVGG16("vgg16", ["fc2_relu"], feature_extractor_weights_path=str(tmp_path / "vgg.pth"))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())[0].numpy()
    ours = genmetrics.compute_features(images, extractor="vgg16", extractor_weights=tmp_path / "vgg.pth",
                                       progress=False)
    assert ours.features.shape == (3, 4096)
    # Same weights, same TF resize and normalisation: float32 round-off only; the 1e-4 bound.
    assert relative_error(ours.features, expected) < 1e-4

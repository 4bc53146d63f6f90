"""DINOv2 and CLIP extractors: each resize protocol against its reference's code on the same random weights.

The official weights cannot be downloaded here, so every test loads random weights of the exact architecture
written in the official checkpoint format (``genmetrics.testing``). Tolerance: 1e-5 of the largest feature
(the issue's), i.e. float32 round-off through 12 transformer blocks.
"""
import builtins

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.features.registry import load_extractor
from genmetrics.testing import random_clip_state_dict, random_dinov2_state_dict, synthetic_images, write_state_dict

pytest.importorskip("timm")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def dinov2_s14(tmp_path_factory):
    return write_state_dict(tmp_path_factory.mktemp("dinov2") / "dinov2_vits14_pretrain.pth",
                            random_dinov2_state_dict("dinov2-vit-s14", seed=3))


@pytest.fixture(scope="module")
def images():
    return synthetic_images(2, size=40, seed=5)


def features(images, **options):
    return genmetrics.compute_features(images, progress=False, device="cpu", cache=False, **options)


def network(name, path):
    """The loaded network itself, to feed it the reference's preprocessing."""
    model = load_extractor(name, extractor_weights=path, device="cpu").model
    return lambda x: model(x, frozenset({"features"}))["features"]


def close(ours, reference, tolerance=1e-5):
    ours, reference = np.asarray(ours), np.asarray(reference)
    return float(np.abs(ours - reference).max() / np.abs(reference).max()) < tolerance


def test_dinov2_dgm_eval_protocol(dinov2_s14, images):
    """dgm-eval (= edm2 resize_mode='pil'): PIL bicubic on uint8, /255, ImageNet mean/std (edm2 DINOv2Detector)."""
    ours = features(images, extractor="dinov2-vit-s14", extractor_weights=dinov2_s14)
    assert ours.features.shape == (2, 384) and ours.protocol["resize"] == "dgm-eval"
    resized = np.stack([np.uint8(Image.fromarray(x, "RGB").resize((224, 224), Image.BICUBIC)) for x in images])
    x = torch.from_numpy(resized).permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, -1, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, -1, 1, 1)
    with torch.no_grad():
        assert close(ours.features, network("dinov2-vit-s14", dinov2_s14)(x))


def test_dinov2_edm2_protocol(dinov2_s14, images):
    """edm2's default resize_mode='torch': bicubic with antialias on the float 0..255 values."""
    ours = features(images, extractor="dinov2-vit-s14", extractor_weights=dinov2_s14, resize="edm2")
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    x = F.interpolate(x.to(torch.float32), size=(224, 224), mode="bicubic", antialias=True) / 255
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, -1, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, -1, 1, 1)
    with torch.no_grad():
        assert close(ours.features, network("dinov2-vit-s14", dinov2_s14)(x))
    # the two protocols give different numbers, by far more than the tolerance: the test can tell them apart
    pil = features(images, extractor="dinov2-vit-s14", extractor_weights=dinov2_s14)
    gap = np.abs(ours.features - pil.features).max() / np.abs(pil.features).max()
    print("dgm-eval vs edm2 resize: largest feature difference", gap)
    assert gap > 1e-4


def test_dinov2_torch_fidelity_protocol(dinov2_s14, images, monkeypatch):
    """torch-fidelity 0.4's FeatureExtractorDinoV2 itself, its torch.hub.load pointed at the same network."""
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    net = network("dinov2-vit-s14", dinov2_s14)
    module = torch.nn.Module()
    module.forward = net
    monkeypatch.setattr(torch.hub, "load", lambda repo, model, **kw: module)
    reference = FeatureExtractorDinoV2("dinov2-vit-s-14", ["dinov2"])
    with torch.no_grad():
        expected = reference(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())[0]
    ours = features(images, extractor="dinov2-vit-s14", extractor_weights=dinov2_s14, resize="torch-fidelity")
    assert close(ours.features, expected)


def test_clip_b32_against_torch_fidelity(tmp_path, images, monkeypatch):
    """clip-vit-b32 on OpenAI-format weights: torch-fidelity's CLIP (its own port of openai/CLIP) and ours."""
    import torch_fidelity.feature_extractor_clip as tf_clip

    # fp16 values, as OpenAI's files hold (torch-fidelity's build_model rounds the weights to fp16)
    state = {k: v.half() for k, v in random_clip_state_dict("clip-vit-b32", seed=4).items()}
    path = write_state_dict(tmp_path / "ViT-B-32.pt", state)

    class Archive:  # what torch.jit.load returns for OpenAI's file: an object with the state dict
        def state_dict(self):
            return dict(state)

    monkeypatch.setattr(tf_clip.torch.jit, "load", lambda *a, **k: Archive())
    reference = tf_clip.FeatureExtractorCLIP("clip-vit-b-32", ["clip"], feature_extractor_weights_path="x")
    with torch.no_grad():
        expected = reference(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())[0]
    ours = features(images, extractor="clip-vit-b32", extractor_weights=path, resize="torch-fidelity")
    assert ours.features.shape == (2, 512) and close(ours.features, expected)


def test_cmmd_protocol_crops_and_resizes_like_cmmd():
    """cmmd io_util.py: centre square crop, PIL bicubic to the size, then /255 and CLIP's mean/std."""
    from genmetrics.features.preprocess import CLIP_MEAN, CLIP_STD, Protocol

    image = synthetic_images(1, size=48, seed=2)[0][:, 4:44]  # 48 x 40: not square
    protocol = Protocol("cmmd", 336, "clip")
    got = protocol.on_device(protocol.on_cpu(image)[None])
    crop = Image.fromarray(image).crop((0, 4, 40, 44)).resize((336, 336), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(crop).astype(np.float32) / 255).permute(2, 0, 1)[None]
    expected = (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    assert float((got - expected).abs().max()) < 1e-6  # float32 round-off of one subtraction and division


def test_weights_rules(dinov2_s14, images, monkeypatch, tmp_path):
    """The Inception rules: env var, then the torch hub cache, then a checked download with a clear offline error."""
    monkeypatch.setenv("GENMETRICS_DINOV2_VIT_S14_WEIGHTS_URL", "file:///nonexistent/no-network.pth")
    with pytest.raises(GenmetricsError, match="GENMETRICS_DINOV2_VIT_S14_WEIGHTS=PATH") as error:
        load_extractor("dinov2-vit-s14", device="cpu")
    assert "--extractor-weights PATH" in str(error.value) and "dinov2_vits14_pretrain.pth" in str(error.value)
    monkeypatch.setenv("GENMETRICS_DINOV2_VIT_S14_WEIGHTS", str(dinov2_s14))
    assert load_extractor("dinov2-vit-s14", device="cpu").weights_path == dinov2_s14
    with pytest.raises(GenmetricsError, match="not a DINOv2 checkpoint"):  # a CLIP file given for DINOv2
        load_extractor("dinov2-vit-s14", device="cpu", extractor_weights=write_state_dict(
            tmp_path / "clip.pt", {"visual.proj": torch.zeros(2, 2)}))


def test_missing_extra_names_it(monkeypatch, dinov2_s14):
    real_import = builtins.__import__

    def no_timm(name, *args, **kwargs):
        if name == "timm" or name.startswith("timm."):
            raise ImportError("No module named 'timm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_timm)
    with pytest.raises(GenmetricsError, match=r"pip install 'genmetrics\[dinov2\]'"):
        load_extractor("dinov2-vit-b14", device="cpu", extractor_weights=dinov2_s14)

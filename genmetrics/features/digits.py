"""The digits classifier: a LeNet-5-like CNN trained on the bundled digits, as a feature extractor.

``--extractor digits`` gives 128-d features (the penultimate layer, after its ReLU) and 10 logits (the
digit classes, for IS and class coverage) that mean something on any machine without a download, the way
MNIST papers score GANs with a LeNet classifier. ``--extractor stacked-digits`` classifies each RGB
channel of an image on its own (stacked digits, VEEGAN/PacGAN's stacked MNIST): 3 x 128 = 384-d features
and 1,000 logits, ``log p(r) + log p(g) + log p(b)`` of the three channels' digits, whose argmax is the
three per-channel argmaxes (the mode 100 r + 10 g + b).

Input protocol (``digits-grey-bilinear-32``; the ``--resize`` option does not apply): the image is made
grey with the ITU-R 601-2 luma weights (PIL's ``convert("L")``; grey images stored as RGB are unchanged),
then resized to 32x32 with bilinear interpolation (align_corners=False, antialiased when shrinking), on
0..255 floats, then scaled to [0, 1]. This is exactly how ``trainers/data.py load_digits`` makes the 32 px
training images from the 8x8 originals (but for its rounding to uint8), so 8x8 digits, the trainers'
32 px digits and generated 32 px samples all reach the network the same way; 16 or 28 px images (say
MNIST) are resized to 32 the same way. 32 px is also LeNet-5's input size (LeCun et al. 1998).

Weights: ``digits_lenet.pt`` in this folder (shipped with the package), written by
``benchmarks/train_digits_classifier.py`` (seeded, deterministic, one thread) from the digits' training
split (the first 1,497 images, ``trainers/data.py DIGITS_SPLITS``) with small random rotations, scalings,
shifts and stroke-width changes, the epoch chosen on the validation split (150 images, 98.0%). Accuracy on
the held-out test split: 146 of 150, 97.3% (``TEST_ACCURACY``). The 300 held-out digits (validation and
test) score IS 9.16 with one split (at most exp H(labels) = 9.93 for their labels), 10 classes, class
KL 0.0015 nats, 90.7% classified with p >= 0.9 (``benchmarks/train_digits_classifier.py`` prints these).
The file's SHA-256 is
pinned here and checked whenever the shipped file is loaded; ``--extractor-weights PATH`` loads another
state dict of this architecture (say, a retrained one), recorded by its own hash.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..defaults import DEFAULTS
from ..device import resolve_device
from ..errors import GenmetricsError
from .preprocess import Protocol
from .weights import sha256_of, state_dict_mismatch

WEIGHTS_PATH = Path(__file__).with_name("digits_lenet.pt")
WEIGHTS_SHA256 = "c1cc393697665ff86396d6626b075ecd57262646a86f45ae155efef392d9ba91"
TEST_ACCURACY = 146 / 150  # the shipped weights on the held-out test split (benchmarks/train_digits_classifier.py)
INPUT_SIZE = 32  # LeNet-5's input (LeCun et al. 1998); the trainers' digits resolution (trainers/data.py)
FEATURE_DIMS = 128
NUM_CLASSES = 10
# ITU-R 601-2 luma, PIL Image.convert("L") (Pillow docs, Image.convert)
LUMA = (0.299, 0.587, 0.114)


class DigitsLeNet(nn.Module):
    """LeNet-5's layout (two 5x5 conv + 2x2 max-pool stages, then two fully connected layers) with ReLUs,
    16 and 32 channels and a 128-unit penultimate layer: 117k parameters (471 KB in float32)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)   # 32 -> 28, pooled to 14
        self.conv2 = nn.Conv2d(16, 32, 5)  # 14 -> 10, pooled to 5
        self.fc1 = nn.Linear(32 * 5 * 5, FEATURE_DIMS)
        self.fc2 = nn.Linear(FEATURE_DIMS, NUM_CLASSES)
        self.dropout = nn.Dropout(0.5)     # training only (Srivastava et al. 2014's p = 0.5)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) in [0, 1] -> (N, 128) penultimate features (after the ReLU)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(self.features(x)))


class DigitsProtocol(Protocol):
    """Grey (or, with ``grey=False``, each channel on its own), bilinear to 32x32, [0, 1]; see the module."""

    def __init__(self, grey: bool = True):
        self.name = "digits-grey-bilinear-32" if grey else "digits-per-channel-bilinear-32"
        self.size, self.normalize, self.grey = INPUT_SIZE, "unit", grey

    def on_cpu(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))

    def on_device(self, batch: torch.Tensor) -> torch.Tensor:
        return to_network_input(batch, self.grey)


def to_network_input(batch: torch.Tensor, grey: bool = True) -> torch.Tensor:
    """(N, C, H, W) 0..255 (uint8 or float; C = 1 or 3) -> (N, 1 or C, 32, 32) float32 in [0, 1]."""
    x = batch.float()
    if grey and x.shape[1] == 3:
        x = (x * torch.tensor(LUMA, device=x.device).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                          antialias=min(x.shape[-2:]) > INPUT_SIZE)
    return x / 255


def load_classifier(path: Path | None = None, device: torch.device | str = DEFAULTS.device) -> DigitsLeNet:
    """The classifier in eval mode; ``path`` None is the shipped file, whose SHA-256 must be ``WEIGHTS_SHA256``."""
    path = WEIGHTS_PATH if path is None else Path(path)
    if not path.is_file():
        raise GenmetricsError(f"digits classifier weights {path} do not exist" + (
            "; reinstall genmetrics (the file ships with it) or run benchmarks/train_digits_classifier.py"
            if path == WEIGHTS_PATH else ""))
    if path.resolve() == WEIGHTS_PATH.resolve() and sha256_of(path) != WEIGHTS_SHA256:
        raise GenmetricsError(
            f"{path} has SHA-256 {sha256_of(path)}, not the pinned {WEIGHTS_SHA256}: the shipped digits "
            f"classifier is damaged or was replaced; reinstall genmetrics, or pass a retrained file with "
            f"--extractor-weights PATH")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GenmetricsError(f"{path}: cannot load the digits classifier weights ({exc})") from None
    net = DigitsLeNet()
    mismatch = state_dict_mismatch(net, state, "the digits classifier") if isinstance(state, dict) else "not a dict"
    if mismatch:
        raise GenmetricsError(f"{path} is not a digits classifier state dict "
                              f"(benchmarks/train_digits_classifier.py writes one): {mismatch}")
    net.load_state_dict(state)
    return net.eval().to(resolve_device(device)).requires_grad_(False)


def build_digits(device: torch.device, path: Path | None):
    """``--extractor digits``: grey 32 px batch -> (128-d features, 10 logits)."""
    net = load_classifier(path, device)

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = net.features(x)
        return features, net.fc2(features)
    return run


def build_stacked(device: torch.device, path: Path | None):
    """``--extractor stacked-digits``: each of the 3 channels classified on its own -> (384-d features,
    1,000 joint log-probabilities with index 100 r + 10 g + b)."""
    net = load_classifier(path, device)

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] != 3:
            raise GenmetricsError("stacked-digits needs RGB images (one digit per channel)")
        n = x.shape[0]
        features = net.features(x.reshape(n * 3, 1, INPUT_SIZE, INPUT_SIZE))
        log_p = F.log_softmax(net.fc2(features), dim=1).view(n, 3, NUM_CLASSES)
        joint = (log_p[:, 0, :, None, None] + log_p[:, 1, None, :, None] + log_p[:, 2, None, None, :])
        return features.reshape(n, 3 * FEATURE_DIMS), joint.reshape(n, NUM_CLASSES ** 3)
    return run

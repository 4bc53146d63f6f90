"""Training data for ``--data``: image folders, torchvision datasets, scikit-learn's digits, 2-D toy mixtures.

Images are held in memory as uint8 (N, C, H, W) at the training resolution and turned into floats in
[-1, 1] per batch. The batch drawn for global batch number b is a function of (seed, b) alone: epoch e uses
the permutation ``randperm(N)`` seeded by (seed, e), so a resumed run sees exactly the data order of an
uninterrupted one. Toy batches are fresh draws from the mixture seeded by (seed, b).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import GenmetricsError
from ..data.toy import MIXTURES, GaussianMixture2D
from .binarize import BINARY, NATIVE_SIZE, bernoulli, binarize
from .seeding import DATA, derive_generator

TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
NAMED = ("digits", "stacked-digits", *TORCHVISION, *BINARY, *MIXTURES)


def default_data_root() -> str:
    """$GENMETRICS_DATA_ROOT, else ~/.cache/genmetrics/datasets."""
    return os.environ.get("GENMETRICS_DATA_ROOT") or str(Path.home() / ".cache" / "genmetrics" / "datasets")


def check_image_size(size: int) -> None:
    """The conv architectures start from a base of side size / 2^k (3 to 8) and need size >= 16."""
    if size < 16 or size % 4:
        raise GenmetricsError(f"--image-size {size}: use a multiple of 4 of at least 16 (e.g. 28, 32, 64)")


@dataclass
class TrainData:
    """Training data in memory, with what the configuration needs to know about it."""

    name: str
    kind: str                                   # "image" or "toy"
    images: torch.Tensor | None = None          # uint8 (N, C, H, W)
    labels: torch.Tensor | None = None          # int64 (N,)
    num_classes: int | None = None
    mixture: GaussianMixture2D | None = None
    dynamic: bool = False                       # binarise every batch afresh (binarize.py)
    _perms: dict = field(default_factory=dict, repr=False)

    @property
    def n_train(self) -> int | None:
        return None if self.images is None else int(self.images.shape[0])

    @property
    def image_size(self) -> int | None:
        return None if self.images is None else int(self.images.shape[-1])

    @property
    def channels(self) -> int | None:
        return None if self.images is None else int(self.images.shape[1])

    def batch(self, seed: int, index: int, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Global batch number ``index``: (floats in [-1, 1] or points, labels or None)."""
        if self.kind == "toy":
            modes = torch.randint(self.mixture.n_modes, (size,), generator=derive_generator(seed, DATA, index))
            noise = torch.randn(size, 2, generator=derive_generator(seed, DATA, index, 1))
            return torch.tensor(self.mixture.means, dtype=torch.float32)[modes] + self.mixture.std * noise, modes
        n = self.n_train
        positions = torch.arange(index * size, (index + 1) * size)
        epochs, offsets = positions // n, positions % n
        rows = torch.empty(size, dtype=torch.long)
        for epoch in epochs.unique().tolist():
            chosen = epochs == epoch
            rows[chosen] = self._permutation(seed, epoch)[offsets[chosen]]
        images = self.images[rows]
        if self.dynamic:  # a fresh Bernoulli draw, a function of (seed, batch) like the order
            images = bernoulli(images, derive_generator(seed, DATA, index, 2))
        x = images.float().div_(127.5).sub_(1.0)
        return x, (self.labels[rows] if self.labels is not None else None)

    def _permutation(self, seed: int, epoch: int) -> torch.Tensor:
        key = (seed, epoch)
        if key not in self._perms:
            if len(self._perms) > 4:
                self._perms.clear()
            self._perms[key] = torch.randperm(self.n_train, generator=derive_generator(seed, DATA, -1, epoch))
        return self._perms[key]

    def order_state(self, seed: int, batches_drawn: int, batch_size: int) -> dict:
        """Where the data order stands (stored in checkpoints; it is a function of these numbers)."""
        state = {"seed": seed, "batches_drawn": batches_drawn, "batch_size": batch_size}
        if self.n_train:
            state.update(epoch=batches_drawn * batch_size // self.n_train,
                         position=batches_drawn * batch_size % self.n_train)
        return state


def _to_uint8_nchw(array: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(1)
    elif tensor.shape[-1] in (1, 3):
        tensor = tensor.permute(0, 3, 1, 2)
    return tensor.contiguous()


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NCHW -> uint8 NCHW at size x size (bilinear; antialiased when shrinking)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for start in range(0, images.shape[0], 4096):
        chunk = images[start:start + 4096].float()
        chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=size < images.shape[-1])
        out.append(chunk.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


# The digits' splits: training uses the first 1,497 images; 150 validation and 150 test images are held
# out so that an offline run can be scored (e.g. by genmetrics parzen) on digits the model never saw.
DIGITS_SPLITS = {"train": slice(0, 1497), "valid": slice(1497, 1647), "test": slice(1647, 1797)}


def load_digits(size: int, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """A split of scikit-learn's bundled 1,797 8x8 digits (values 0..16), upsampled to ``size``; no download."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise GenmetricsError("--data digits needs scikit-learn: pip install scikit-learn") from None
    if split not in DIGITS_SPLITS:
        raise GenmetricsError(f"digits has the splits {', '.join(DIGITS_SPLITS)}, not {split!r}")
    bunch = sklearn_digits()
    part = DIGITS_SPLITS[split]
    images = np.rint(bunch.images[part] * (255.0 / 16.0)).astype(np.uint8)  # 16: the digits' maximum value
    return _resize(_to_uint8_nchw(images), size), torch.as_tensor(bunch.target[part], dtype=torch.long)


# Stacked digits: VEEGAN's stacked MNIST (Srivastava et al. 2017, section 5.2; PacGAN, Lin et al. 2018), three
# digits drawn uniformly with replacement as the R, G and B channels, 1,000 modes (100 r + 10 g + b).
# VEEGAN/PacGAN draw 128,000 training images (fjxmlzn/PacGAN VEEGAN_experiment config.py); 25,600 here keep
# the set at 79 MB in memory at 32 px. 1,497 training digits make 3.4e9 triples, so the count caps memory,
# not variety; each mode gets 25.6 images on average.
STACKED_DIGITS_N = 25_600
STACKED_DIGITS_SEED = 0  # the training set is one fixed draw, whatever the run's --seed


def load_stacked_digits(size: int, split: str = "train", n: int | None = None,
                        seed: int = STACKED_DIGITS_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` (default STACKED_DIGITS_N) RGB images whose channels are three digits of ``split`` drawn with
    ``seed``; labels are the modes 100 r + 10 g + b."""
    digits, labels = load_digits(size, split)
    count = STACKED_DIGITS_N if n is None else n
    rows = torch.randint(len(digits), (count, 3), generator=torch.Generator().manual_seed(seed))
    images = digits[rows.flatten(), 0].view(count, 3, size, size)
    modes = (labels[rows] * torch.tensor([100, 10, 1])).sum(dim=1)
    return images, modes


def load_torchvision(name: str, root: str, size: int | None, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """mnist, fashion-mnist or cifar10, training or test split, from ``root`` (downloaded there when online)."""
    import torchvision.datasets as tvd

    if split not in ("train", "test"):
        raise GenmetricsError(f"{name} has the splits train and test, not {split!r}")
    cls = getattr(tvd, TORCHVISION[name])
    try:
        dataset = cls(root, train=split == "train", download=True)
    except Exception as exc:  # urllib / socket / checksum errors: the download is what failed
        raise GenmetricsError(
            f"--data {name}: not found in --data-root {root} and the download failed ({type(exc).__name__}: "
            f"{exc}); offline, copy torchvision's {TORCHVISION[name]} folder into {root} (or pass --data-root "
            f"where it is), or give --data a folder of images") from None
    images = dataset.data.numpy() if isinstance(dataset.data, torch.Tensor) else np.asarray(dataset.data)
    images = _to_uint8_nchw(images)
    return (_resize(images, size) if size else images), torch.as_tensor(dataset.targets, dtype=torch.long)


def _square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square, then resize to ``size`` (PIL bicubic, antialiased)."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    pil = Image.fromarray(image[top:top + side, left:left + side])
    return np.asarray(pil.resize((size, size), Image.BICUBIC)) if side != size else np.asarray(pil)


def load_folder(path: Path, size: int | None) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
    """A folder of images (decoded with genmetrics.data.open_images); class labels from subfolders."""
    from ..data import open_images
    from ..data.sources import BadImage

    source = open_images(path)
    if source.files is None or not path.is_dir():
        raise GenmetricsError(f"--data {path}: give a folder of images (or digits, stacked-digits, mnist, "
                              f"fashion-mnist, cifar10, ring8, grid25)")
    try:
        first = source.load(0)
        size = size or min(first.shape[:2])
        check_image_size(size)
        images = np.stack([_square(source.load(i), size) for i in range(len(source))])
    except BadImage as exc:
        raise GenmetricsError(f"{exc}; remove or fix the file") from None
    if (images == images[..., :1]).all():  # every image grey: train on one channel
        images = images[..., :1]
    folders = [Path(f).parts[0] if len(Path(f).parts) > 1 else None for f in source.files]
    if any(f is None for f in folders) or len(set(folders)) < 2:
        return _to_uint8_nchw(images), None, None
    classes = sorted(set(folders))
    labels = torch.tensor([classes.index(f) for f in folders], dtype=torch.long)
    return _to_uint8_nchw(images), labels, len(classes)


def load_binary(name: str, split: str, data_root: str | None = None, image_size: int | None = None,
                for_training: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``-binary`` data set (binarize.py) at its native size unless ``image_size``: uint8 {0, 255} images,
    or, for dynamic binarisation's training split, the grey images that each batch binarises afresh."""
    grey_name, rule = BINARY[name]
    size = image_size or NATIVE_SIZE[grey_name]
    if grey_name == "digits":
        grey, labels = load_digits(size, split)
    else:
        grey, labels = load_torchvision(grey_name, data_root or default_data_root(), size, split)
    if rule == "dynamic" and for_training and split == "train":
        return grey, labels
    return binarize(grey, "bernoulli" if rule == "dynamic" else rule), labels


def open_training_data(data: str, data_root: str | None = None, image_size: int | None = None) -> TrainData:
    """Open ``--data``: a folder, ``digits``, ``stacked-digits``, ``mnist``, ``fashion-mnist``, ``cifar10``, ``ring8``,
    ``grid25`` (translation domains ``A,B``: translation_data.open_data)."""
    native = data in BINARY and image_size == NATIVE_SIZE[BINARY[data][0]]  # binary data's own size (8 for digits)
    if image_size is not None and not native:
        check_image_size(image_size)
    if data in MIXTURES:
        mixture = MIXTURES[data]
        return TrainData(data, "toy", num_classes=mixture.n_modes, mixture=mixture)
    if data == "digits":
        images, labels = load_digits(image_size or 32)
        return TrainData(data, "image", images, labels, 10)
    if data == "stacked-digits":
        images, labels = load_stacked_digits(image_size or 32)
        return TrainData(data, "image", images, labels, 1000)
    if data in TORCHVISION:
        images, labels = load_torchvision(data, data_root or default_data_root(), image_size)
        return TrainData(data, "image", images, labels, 10)
    if data in BINARY:
        images, labels = load_binary(data, "train", data_root, image_size)
        return TrainData(data, "image", images, labels, 10, dynamic=BINARY[data][1] == "dynamic")
    path = Path(data).expanduser()
    if not path.exists():
        raise GenmetricsError(f"--data {data}: no such folder; give a folder of images or one of "
                              f"{', '.join(NAMED)}")
    images, labels, num_classes = load_folder(path, image_size)
    return TrainData(str(path), "image", images, labels, num_classes)

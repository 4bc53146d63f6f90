"""The sliced Wasserstein distance of ProGAN (Karras et al. 2018, Section 5 and Appendix D), as
tkarras/progressive_growing_of_gans ``metrics/sliced_wasserstein.py`` computes it:

1. a Laplacian pyramid of each image set (float pixel values 0..255; the 5x5 binomial filter of
   ``cv2.pyrDown``/``pyrUp``, mirrored edges), one level per resolution from the full size down to 16 px;
2. per level, 128 random 7x7 neighbourhoods per image (wholly inside the image), 3 channels each: a
   147-d descriptor per neighbourhood;
3. per level and per set, each channel normalised to mean 0 and standard deviation 1 over all of that
   set's descriptors;
4. per level, 4 repeats of 128 random unit directions: project both sets, sort, and average |a - b| over
   the neighbourhoods and directions; the mean over repeats, times 1e3, is that level's SWD.

``swd`` is the mean over the levels (ProGAN's ``SWDx1e3_avg``); each level's value is a detail
(``swd_32``, ``swd_16``, ...). Lower is better.

Differences from the reference, all stated: its random numbers come from numpy's global state, here
from ``RandomState`` streams of ``--seed``, so the value is reproducible; the reference draws the real and
the generated sets' neighbourhood positions independently, which adds a sampling floor (identical sets of
64 images of 32 px score about 20), while here both sets use the same positions (common random numbers:
identical sets score 0, and as n grows both converge to the same value, the distance between the two
descriptor distributions); it asserts 3 channels, and here
grey images arrive as RGB (every genmetrics image source yields 3 channels) so they pass with three
equal channels; the two sets must have as many descriptors, so the larger set is cut to the first
n = min(n_real, n_fake) images (the details record n).

Images under 16 px have no pyramid level (the reference's loop ``while res >= 16`` yields none, and
its metric is then empty): genmetrics refuses them with a GenmetricsError that says to upsample them
(e.g. ``genmetrics data digits --image-size 32``, or train at ``--image-size 32``) rather than
upsampling silently, since upsampling adds pyramid levels whose content is the resize filter's.
"""
from __future__ import annotations

import numpy as np

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .registry import GENERATED_IMAGES, REFERENCE_IMAGES, Key, register_metric

NHOOD_SIZE = 7           # sliced_wasserstein.py API.__init__: nhood_size
NHOODS_PER_IMAGE = 128   # nhoods_per_image
DIR_REPEATS = 4          # dir_repeats
DIRS_PER_REPEAT = 128    # dirs_per_repeat
MIN_RESOLUTION = 16      # `while res >= 16`
# cv2.pyrDown's 5x5 binomial kernel (sliced_wasserstein.py gaussian_filter).
BINOMIAL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32) / 256.0


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from scipy.ndimage import convolve

    return convolve(x, kernel[None, None], mode="mirror")


def pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """Laplacian pyramid of float32 NCHW images: ``levels`` bands, the last the low-pass residual."""
    bands = [images.astype(np.float32)]
    for _ in range(1, levels):
        down = _convolve(bands[-1], BINOMIAL)[:, :, ::2, ::2]
        up = np.zeros_like(bands[-1])
        up[:, :, ::2, ::2] = down
        bands[-1] = bands[-1] - _convolve(up, BINOMIAL * 4.0)
        bands.append(down)
    return bands


def descriptors(band: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """NHOODS_PER_IMAGE random 7x7 neighbourhoods of every image: (N * 128, C, 7, 7)."""
    n, c, h, w = band.shape
    half = NHOOD_SIZE // 2
    count = n * NHOODS_PER_IMAGE
    image = (np.arange(count) // NHOODS_PER_IMAGE)[:, None, None, None]
    offsets = np.arange(-half, half + 1)
    xs = offsets[None, None, None, :] + rng.randint(half, w - half, size=(count, 1, 1, 1))
    ys = offsets[None, None, :, None] + rng.randint(half, h - half, size=(count, 1, 1, 1))
    return band[image, np.arange(c)[None, :, None, None], ys, xs]


def normalise(desc: np.ndarray) -> np.ndarray:
    """Per channel mean 0 and standard deviation 1 over the set, then flattened: (M, C * 49)."""
    desc = desc - desc.mean(axis=(0, 2, 3), keepdims=True)
    desc = desc / desc.std(axis=(0, 2, 3), keepdims=True)
    return desc.reshape(desc.shape[0], -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.RandomState) -> float:
    """Mean over DIR_REPEATS x DIRS_PER_REPEAT random unit directions of the 1-D W1 of the projections."""
    results = []
    for _ in range(DIR_REPEATS):
        dirs = rng.randn(a.shape[1], DIRS_PER_REPEAT)
        dirs = (dirs / np.sqrt(np.square(dirs).sum(axis=0, keepdims=True))).astype(np.float32)
        results.append(np.abs(np.sort(a @ dirs, axis=0) - np.sort(b @ dirs, axis=0)).mean())
    return float(np.mean(results))


def _stream(seed: int, *keys: int) -> np.random.RandomState:
    return np.random.RandomState(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def _nchw(images, side: str) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim != 4:
        raise GenmetricsError(f"swd: the {side} images must be a 4-D batch, got shape {x.shape}")
    if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    return x


def sliced_wasserstein_distance(real, fake, seed: int = DEFAULTS.seed) -> dict:
    """ProGAN's SWD (x 1e3) of two uint8 image sets (NCHW or NHWC, same size): {"swd": mean over levels,
    "swd_<res>": per level, "n": images used per set, "resolutions": [...]}."""
    real, fake = _nchw(real, "reference"), _nchw(fake, "generated")
    if real.shape[1:] != fake.shape[1:]:
        raise GenmetricsError(f"swd compares images of one size: reference {real.shape[2]}x{real.shape[3]}, "
                              f"generated {fake.shape[2]}x{fake.shape[3]}; resize one set")
    side = min(real.shape[2], real.shape[3])
    if side < MIN_RESOLUTION:
        raise GenmetricsError(f"swd needs images of at least {MIN_RESOLUTION} px (ProGAN's pyramid stops there); "
                              f"these are {real.shape[2]}x{real.shape[3]}: upsample both sets first, e.g. "
                              f"genmetrics data digits --image-size 32, or train at --image-size 32")
    n = min(len(real), len(fake))
    if n < 2:
        raise GenmetricsError("swd needs at least 2 images in each set")
    resolutions, res = [], side
    while res >= MIN_RESOLUTION:
        resolutions.append(res)
        res //= 2
    bands = [pyramid(x[:n], len(resolutions)) for x in (real, fake)]
    values = []
    for level, (a, b) in enumerate(zip(*bands)):
        a, b = (normalise(descriptors(band, _stream(seed, 0, level))) for band in (a, b))  # the same positions
        values.append(1e3 * sliced_wasserstein(a, b, _stream(seed, 1, level)))
    return {"swd": float(np.mean(values)), **{f"swd_{r}": v for r, v in zip(resolutions, values)},
            "n": n, "resolutions": resolutions}


def _swd_of(inputs) -> dict:
    return sliced_wasserstein_distance(inputs.reference_images, inputs.generated_images, inputs.options.seed)


register_metric("swd", [Key("swd", False, "sliced Wasserstein distance x1e3", short="SWD")],
                {REFERENCE_IMAGES, GENERATED_IMAGES}, _swd_of, options=("seed",),
                not_applicable={"sweep": "the sweep scores features; run genmetrics eval on its samples",
                                "train": "the trainers score features; run genmetrics eval on a run's samples"},
                note="ProGAN, images >= 16 px", default=False)

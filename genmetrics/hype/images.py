"""Re-encode every image the same way, and make the masks.

Nothing but pixels may tell a real image from a fake one: every image (real and fake) is decoded, converted
to 8-bit RGB, resized to one size with the same filter, and written as a PNG with no compression
(``compress_level=0``) and no metadata chunks. An uncompressed PNG's byte count depends only on its width
and height, so every served image has the same size and loads equally fast: a compressed PNG or a JPEG
would be smaller for smooth images, and a generator's images are often smoother than photographs.

Masks: the paper ("HYPE_time") shows 4 Portilla-Simoncelli texture masks of 30 ms after the image.
genmetrics uses a simpler stand-in, written in the study record: phase-scrambled images of the pool
(each mask keeps the Fourier amplitude spectrum of one pool image, real or fake in turn, and takes a
uniformly random phase shared by the three channels), which has natural-image spectral statistics
without recognisable structure.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

MASK_METHOD = ("phase-scrambled images of the pool (Fourier amplitude of one pool image, alternately real "
               "and fake, with uniformly random phase shared across channels); the paper uses "
               "Portilla-Simoncelli textures")
ENCODING = "PNG, 8-bit RGB, zlib level 0 (uncompressed), no metadata chunks; resized with Lanczos"


def encode_png(image: np.ndarray) -> bytes:
    """HxWx3 uint8 -> uncompressed PNG bytes with IHDR, IDAT and IEND only."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "RGB").save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize HxWx3 uint8 to (width, height) with Lanczos (a no-op at the same size)."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    return np.asarray(Image.fromarray(image, "RGB").resize(size, Image.LANCZOS))


def phase_scrambled(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep the amplitude spectrum of ``image`` per channel; draw one random phase for all channels."""
    pixels = image.astype(np.float64)
    spectrum = np.fft.fft2(pixels, axes=(0, 1))
    # The phase of the FFT of real white noise is Hermitian-symmetric, so the inverse stays (nearly) real.
    noise_phase = np.angle(np.fft.fft2(rng.standard_normal(image.shape[:2])))
    scrambled = np.fft.ifft2(np.abs(spectrum) * np.exp(1j * (np.angle(spectrum) + noise_phase[..., None])),
                             axes=(0, 1)).real
    # Back to the image's own mean and contrast per channel, then to uint8.
    low, high = scrambled.min(axis=(0, 1)), scrambled.max(axis=(0, 1))
    scaled = (scrambled - low) / np.maximum(high - low, 1e-9) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def parse_size(text: str | int | None) -> tuple[int, int] | None:
    """'64' or '64x48' (width x height) -> (width, height); None stays None."""
    if text is None:
        return None
    from ..errors import GenmetricsError
    try:
        parts = [int(p) for p in str(text).lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 8 or max(parts) > 4096:
        raise GenmetricsError(f"--size {text!r}: give N or WxH in pixels, between 8 and 4096")
    return parts[0], parts[1]

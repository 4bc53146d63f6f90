"""Peak RSS of a streaming FID while it is updated with many small images: flat, since it keeps float64 sums.

    python benchmarks/streaming_memory.py [--n 100000] [--batch 500] [--dims 2048] [--size 8] [--device auto]
                                          [--extractor inception|digits|projection] [--weights FILE]

Feeds ``--n`` random ``--size`` x ``--size`` uint8 images in batches of ``--batch`` to
``genmetrics.metrics.FID`` (as many to the reference side) and prints the RSS of the process (now, and its
peak) at 1,000 and 10,000 images and at every tenth of the way, then the FID. A per-image-feature object
(KID, precision/recall) would hold ``n x dims x 4`` bytes per side instead; that figure is printed beside it.

``--extractor`` chooses the network, since what is measured is the object, not the network:

- ``inception`` (default): the FID InceptionV3 (``--weights`` or the usual lookup; ``--random-weights``
  for calibrated random ones, offline). On 2 CPU cores the 2048-d network runs at ~17 images/s: 100,000
  images at 2048-d is a GPU run; use --dims 64 and a smaller --n on a CPU.
- ``digits``: the shipped digits classifier (128-d features), offline, a few hundred images/s on a CPU.
- ``projection``: registered here, a fixed random linear map of the [0, 1] pixels to ``--dims`` features
  (seeded), through the same feature engine, so that 100,000 + 100,000 images of 2048-d features stream
  through the real object (its 2048 x 2048 float64 sums, the engine's batches) on a CPU in minutes.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mib  # noqa: E402


def rss_mib() -> float:
    """The resident set size now (Linux /proc; else the peak): the peak alone would hide a flat curve under
    the start-up's peak (loading, or calibrating random weights)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mib()


def register_projection(size: int, dims: int) -> None:
    """``--extractor projection``: features = the [0, 1] pixels times a fixed random (3 size^2, dims) matrix
    (seed 0), at the images' own size (the tf resize from size to size)."""
    from genmetrics.features.registry import register_extractor

    matrix = torch.randn(3 * size * size, dims, generator=torch.Generator().manual_seed(0)) / (3 * size * size) ** 0.5

    def build(device, weights):
        weight = matrix.to(device)
        return lambda x: x.flatten(1) @ weight

    register_extractor("projection", build, size=size, normalize="unit")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="generated images (as many reference images)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--size", type=int, default=8, help="image side in pixels (resized to 299 by the protocol)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--extractor", default="inception", help="inception, digits or projection (see above)")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--random-weights", action="store_true", help="calibrated random weights (offline)")
    args = parser.parse_args()

    import warnings

    import genmetrics
    from genmetrics.testing import write_random_weights

    warnings.simplefilter("ignore", genmetrics.SmallSampleWarning)
    weights = args.weights
    if args.random_weights:
        weights = str(write_random_weights(Path(tempfile.mkdtemp()) / "random_fid.pth"))
    options = dict(dims=args.dims, weights=weights) if args.extractor == "inception" else {}
    if args.extractor == "projection":
        register_projection(args.size, args.dims)
    metric = genmetrics.metrics.FID(extractor=args.extractor, device=args.device, batch_size=args.batch, **options)
    dims = args.dims if args.extractor != "digits" else 128  # the digits classifier's penultimate layer
    print(f"{machine()}; {time.strftime('%Y-%m-%d')}; device {metric.device}; extractor {args.extractor}; "
          f"{args.n:,} + {args.n:,} images of {args.size}x{args.size}, {dims}-d, batches of {args.batch}")
    print(f"a per-image-feature object would hold {args.n * dims * 4 / 2**20:,.1f} MiB per side; RSS before "
          f"the first update {rss_mib():.1f} MiB, peak {peak_rss_mib():.1f} MiB", flush=True)
    generator = np.random.default_rng(0)
    marks = {args.n * k // 10 for k in range(1, 11)} | {m for m in (1_000, 10_000) if m < args.n}
    start, done = time.perf_counter(), 0
    while done < args.n:
        count = min(args.batch, args.n - done)
        for real in (True, False):
            images = generator.integers(0, 256, (count, 3, args.size, args.size), dtype=np.uint8)
            metric.update(torch.from_numpy(images), real=real)
        before, done = done, done + count
        if any(before < m <= done for m in marks):  # once per batch that passes a mark
            rate = 2 * done / (time.perf_counter() - start)
            print(f"  {done:>9,} images per side: RSS {rss_mib():8.1f} MiB, peak {peak_rss_mib():8.1f} MiB  "
                  f"({rate:,.1f} images/s)", flush=True)
    result = metric.compute()
    print(f"FID {result.fid:.6f} (n1={result.n1:,}, n2={result.n2:,}); peak RSS {peak_rss_mib():.1f} MiB; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""Peak RSS of a streaming FID while it is updated with many small images: flat, since it keeps float64 sums.

    python benchmarks/streaming_memory.py [--n 100000] [--batch 500] [--dims 2048] [--size 8] [--device auto]
                                          [--weights FILE]

Feeds ``--n`` random ``--size`` x ``--size`` uint8 images in batches of ``--batch`` to
``genmetrics.metrics.FID`` (as many to the reference side) and prints the RSS of the process (now, and its
peak) at every tenth of the way, then the FID. A per-image-feature object (KID, precision/recall) would hold
``n x dims x 4`` bytes per side instead; that figure is printed beside it. Without ``--weights`` the FID
weights are looked up as every command does; ``--random-weights`` uses calibrated random ones (offline).
On 2 CPU cores the 2048-d network runs at ~17 images/s: use --dims 64 (the network's stem only) and a
smaller --n there; 100,000 images at 2048-d is a GPU run.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="generated images (as many reference images)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--size", type=int, default=8, help="image side in pixels (resized to 299 by the protocol)")
    parser.add_argument("--device", default="auto")
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
    metric = genmetrics.metrics.FID(dims=args.dims, weights=weights, device=args.device, batch_size=args.batch)
    print(f"{machine()}; device {metric.device}; {args.n:,} + {args.n:,} images of {args.size}x{args.size}, "
          f"{args.dims}-d, batches of {args.batch}")
    print(f"a per-image-feature object would hold {args.n * args.dims * 4 / 2**20:,.1f} MiB per side; RSS before "
          f"the first update {rss_mib():.1f} MiB, peak {peak_rss_mib():.1f} MiB", flush=True)
    generator = np.random.default_rng(0)
    start, done, marks = time.perf_counter(), 0, {args.n * k // 10 for k in range(1, 11)}
    while done < args.n:
        count = min(args.batch, args.n - done)
        for real in (True, False):
            images = generator.integers(0, 256, (count, 3, args.size, args.size), dtype=np.uint8)
            metric.update(torch.from_numpy(images), real=real)
        before, done = done, done + count
        for mark in sorted(m for m in marks if before < m <= done):
            rate = 2 * done / (time.perf_counter() - start)
            print(f"  {done:>9,} images per side: RSS {rss_mib():8.1f} MiB, peak {peak_rss_mib():8.1f} MiB  "
                  f"({rate:,.1f} images/s)", flush=True)
    result = metric.compute()
    print(f"FID {result.fid:.6f} (n1={result.n1:,}, n2={result.n2:,}); peak RSS {peak_rss_mib():.1f} MiB; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""Fréchet distance on 2048-d statistics: genmetrics vs pytorch-fid's ``calculate_frechet_distance``.

    python benchmarks/frechet.py [--dims 2048] [--n 10000] [--repeats 3]

Both get the same float64 statistics of correlated, non-negative features (like Inception pool features)
from ``--n`` samples per side; prints best-of-repeats times, the speed-up and the relative difference.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from genmetrics import frechet_distance  # noqa: E402


def statistics(rng, n, dims, shift):
    mixing = rng.normal(size=(dims // 4, dims)) / np.sqrt(dims // 4)
    x = np.maximum(rng.normal(size=(n, dims // 4)) @ mixing + shift, 0)
    return x.mean(0), np.cov(x, rowvar=False)


def best_time(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(0)
    mu1, s1 = statistics(rng, args.n, args.dims, 0.1)
    mu2, s2 = statistics(rng, args.n, args.dims, 0.2)
    t_ours, ours = best_time(lambda: frechet_distance(mu1, s1, mu2, s2), args.repeats)
    t_ref, ref = best_time(lambda: calculate_frechet_distance(mu1, s1, mu2, s2), args.repeats)
    print(f"# Fréchet distance, {args.dims}-d statistics of {args.n} samples, {machine()}")
    print("| implementation | seconds | FID |")
    print("|---|---|---|")
    print(f"| pytorch-fid calculate_frechet_distance (scipy sqrtm) | {t_ref:.3f} | {ref:.9f} |")
    print(f"| genmetrics.frechet_distance | {t_ours:.3f} | {ours:.9f} |")
    print(f"speed-up {t_ref / t_ours:.1f}x, relative difference {abs(ours - ref) / abs(ref):.1e}")


if __name__ == "__main__":
    main()

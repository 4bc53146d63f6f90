"""Parzen-window benchmark: genmetrics vs sklearn KernelDensity vs a straight NumPy port of parzen_ll.py.

    python benchmarks/parzen.py                  # MNIST shape: 10,000 samples and test points, 784 dims
    python benchmarks/parzen.py --n 2000 --dim 256 --quick
    python benchmarks/parzen.py --cifar-shape    # also run the whole 60,000 x 60,000 x 3,072 workload

One run, one data set: clustered pixel data (uint8, scaled to [0, 1]; prototypes plus noise), a
validation set of 1,000 points (parzen_ll.py --limit_size default). The slow references run on a subset
of test points and are extrapolated linearly (their cost is linear in the points scored), as printed.
Times are the best of --repeat runs (2), the least disturbed by other jobs on the machine. genmetrics is
timed on both of its paths: two uint8 sets (exact float32 products) and float samples (float64).
Memory: a child process runs a bounded part of the CIFAR-shape workload (its first block of 2,048 test
rows against all 60,000 samples, the same work as every other block row) and reports its peak RSS.
"""
from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from scipy.special import logsumexp

import genmetrics
from genmetrics import parzen_log_densities, parzen_log_likelihood

GRID = np.logspace(-1, 0, 10)  # parzen_ll.py: numpy.logspace(-1, 0, 10)


def clustered_pixels(rng, n, d, prototypes, spread=0.15, chunk=1024):
    """(n, d) uint8 pixels around random prototypes, made in chunks so that no float copy of it exists."""
    out = np.empty((n, d), np.uint8)
    for lo in range(0, n, chunk):
        k = min(chunk, n - lo)
        values = prototypes[rng.integers(0, len(prototypes), k)] + spread * rng.standard_normal((k, d))
        out[lo:lo + k] = np.clip(np.rint(values * 255), 0, 255)
    return out


def direct(mu, x, sigma):
    """The formula with direct differences and scipy's logsumexp, float64, a few points at a time."""
    parts = [logsumexp(-((x[i:i + 4, None] - mu[None]) ** 2).sum(-1) / (2 * sigma ** 2), axis=1)
             for i in range(0, len(x), 4)]
    return np.concatenate(parts) - np.log(len(mu)) - mu.shape[1] * np.log(sigma * np.sqrt(2 * np.pi))


def strided_order(n, batch_size=10):
    """The order of get_nll's results: ceil(n / batch_size) strided batches x[i::n_batches]."""
    n_batches = int(np.ceil(n / batch_size))
    return np.concatenate([np.arange(n)[i::n_batches] for i in range(n_batches)])


def port_log_density(mu, x, sigma, batch_size=10):
    """A straight NumPy port of parzen_ll.py theano_parzen + log_mean_exp + get_nll (its default batch 10)."""
    n_batches = int(np.ceil(len(x) / batch_size))
    out = []
    for i in range(n_batches):  # (batch, n, d) float64: 10 x 10,000 x 784 is 630 MB per temporary
        a = (x[i::n_batches][:, None, :] - mu[None, :, :]) / sigma
        e = -0.5 * (a ** 2).sum(2)
        top = e.max(1)
        out.append(top + np.log(np.exp(e - top[:, None]).mean(1)) - mu.shape[1] * np.log(sigma * np.sqrt(2 * np.pi)))
    return np.concatenate(out)  # in parzen_ll.py's strided order


def timed(func, *args, repeat: int = 1, **kwargs):
    """(value, best wall time of ``repeat`` runs): the best run is the least disturbed by other jobs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        value = func(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return value, best


def speed(args) -> None:
    rng = np.random.default_rng(0)
    prototypes = np.random.default_rng(1).random((20, args.dim))
    samples, test, valid = (clustered_pixels(rng, k, args.dim, prototypes) for k in (args.n, args.n, args.valid))
    samples_f, test_f = samples / 255.0, test / 255.0
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"# Parzen benchmark: {args.n} samples, {args.n} test points, {args.valid} validation points, "
          f"{args.dim} dims; genmetrics {genmetrics.__version__}, torch {torch.__version__}, {device}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a grid-edge warning is no matter for timing
        result, t_protocol = timed(parzen_log_likelihood, samples, test, valid, progress=False, repeat=args.repeat)
    sigma = result.sigma
    ours, t_ours = timed(parzen_log_densities, samples, test, sigma, repeat=args.repeat)
    ours_f, t_ours_f = timed(parzen_log_densities, samples_f, test, sigma, repeat=args.repeat)  # float64 path
    print(f"chosen sigma {sigma:.4g}; test LL {result.log_likelihood:.3f} ± {result.standard_error:.3f} nats\n")

    check = min(args.check, args.n)
    exact = direct(samples_f, test_f[:check], sigma)
    port_n = min(args.port_points, args.n)
    port_values, t_port = timed(port_log_density, samples_f, test_f[:port_n], sigma, repeat=args.repeat)
    t_port_point = t_port / port_n
    from sklearn.neighbors import KernelDensity
    kde, t_fit = timed(KernelDensity(kernel="gaussian", bandwidth=sigma).fit, samples_f)
    sk_n = min(args.sklearn_points, args.n)
    sk_values, t_sk = timed(kde.score_samples, test_f[:sk_n], repeat=args.repeat)
    t_sk_all = t_fit + t_sk / sk_n * args.n
    t_port_all = t_port_point * args.n
    t_port_protocol = t_port_point * (len(GRID) * args.valid + args.n)

    print("| task | genmetrics | sklearn KernelDensity | NumPy port of parzen_ll.py |")
    print("|---|---|---|---|")
    print(f"| score {args.n} test points at one sigma (uint8 sets: exact path) | {t_ours:.1f} s | {t_sk_all:.0f} s "
          f"({t_sk_all / t_ours:.0f}x slower){'' if sk_n == args.n else f'; from {sk_n} points, extrapolated'} | "
          f"{t_port_all:.0f} s ({t_port_all / t_ours:.0f}x slower)"
          f"{'' if port_n == args.n else f'; from {port_n} points, extrapolated'} |")
    print(f"| the same, samples as float vectors (float64 path) | {t_ours_f:.1f} s | "
          f"{t_sk_all / t_ours_f:.0f}x slower | {t_port_all / t_ours_f:.0f}x slower |")
    print(f"| protocol: 10-sigma grid on {args.valid} valid + test | {t_protocol:.1f} s | - | "
          f"{t_port_protocol:.0f} s ({t_port_protocol / t_protocol:.0f}x slower; extrapolated) |")
    order = strided_order(port_n)  # port_values[j] is the density of test point order[j]
    seen = order < check
    errors = (max(np.abs(ours[:check] - exact).max(), np.abs(ours_f[:check] - exact).max()), np.abs(sk_values[:check] - exact[:sk_n][:check]).max(),
              np.abs(port_values[seen] - exact[order[seen]]).max())
    print(f"| max abs diff per point vs the direct formula (first {check} points) | {errors[0]:.1e} nats | "
          f"{errors[1]:.3g} nats | {errors[2]:.1e} nats |")
    targets = (t_sk_all / max(t_ours, t_ours_f) >= 20, t_port_all / max(t_ours, t_ours_f) >= 5)
    print(f"\ntargets: >= 20x sklearn: {'met' if targets[0] else 'MISSED'}; "
          f">= 5x NumPy port: {'met' if targets[1] else 'MISSED'}")


def sklearn_divergence(args) -> None:
    """|sklearn - exact| per point at several dims and widths (2,000 samples, 200 points)."""
    from sklearn.neighbors import KernelDensity
    widths = (0.05, 0.1, 0.2, 0.5)
    print("\n# sklearn KernelDensity(kernel='gaussian').score_samples vs the exact formula "
          "(max |difference| per point, nats; 2,000 samples, 200 points, clustered data in [0, 1])")
    print("| dims | " + " | ".join(f"sigma={s}" for s in widths) + " |")
    print("|---|" + "---|" * len(widths))
    for d in args.sklearn_dims:
        rng = np.random.default_rng(d)
        prototypes = rng.random((20, d))
        mu, x = (clustered_pixels(rng, k, d, prototypes) / 255.0 for k in (2000, 200))
        cells = []
        for s in widths:
            exact = parzen_log_densities(mu, x, s)
            diff = np.abs(KernelDensity(kernel="gaussian", bandwidth=s).fit(mu).score_samples(x) - exact)
            cells.append(f"{diff.max():.2g}")
        print(f"| {d} | " + " | ".join(cells) + " |")


def peak_rss_mib() -> float:
    """This process's peak resident memory. Linux: VmHWM, because getrusage's ru_maxrss survives
    fork + exec and would report the (larger) parent's size at the fork; elsewhere ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        scale = 2 ** 20 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def memory_child(rows: int | None, n: int, dim: int) -> None:
    """In a fresh process: make the CIFAR-shape data, score ``rows`` test rows (all if None), print RSS."""
    rng = np.random.default_rng(0)
    prototypes = rng.random((20, dim))
    samples, test = (clustered_pixels(rng, n, dim, prototypes) for _ in range(2))
    base = peak_rss_mib()
    points = test if rows is None else test[:rows]
    _, seconds = timed(parzen_log_densities, samples, points, 0.2)
    peak = peak_rss_mib()
    print(f"{base:.0f} {peak:.0f} {seconds:.2f} {len(points)}")


def memory(args) -> None:
    n, dim = 60_000, 3_072
    rows = None if args.cifar_shape else 2048
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(rows or 0)],
                         check=True, capture_output=True, text=True).stdout.split()
    base, peak, seconds, scored = float(out[0]), float(out[1]), float(out[2]), int(out[3])
    data_mb = 2 * n * dim / 2 ** 20
    print(f"\n# memory, CIFAR shape ({n} samples x {n} test points x {dim} dims, uint8 sets: {data_mb:.0f} MiB)")
    print(f"scored {scored} test rows against all {n} samples in {seconds:.1f} s"
          + ("" if scored == n else f" (the whole run: ~{seconds * n / scored / 60:.0f} min here, extrapolated)"))
    print(f"peak RSS: {base:.0f} MiB after making the data, {peak:.0f} MiB after scoring "
          f"(+{peak - base:.0f} MiB of working memory: blocks whose size --batch-size sets, not the set sizes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="samples and test points")
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--valid", type=int, default=1000, help="validation points (parzen_ll.py: 1,000)")
    parser.add_argument("--sklearn-points", type=int, default=200, help="test points scored by sklearn")
    parser.add_argument("--port-points", type=int, default=100, help="test points scored by the NumPy port")
    parser.add_argument("--check", type=int, default=100, help="points checked against the direct formula")
    parser.add_argument("--sklearn-dims", type=int, nargs="*", default=[2, 16, 64, 784])
    parser.add_argument("--repeat", type=int, default=2, help="timings are the best of this many runs")
    parser.add_argument("--cifar-shape", action="store_true", help="run the whole 60k x 60k x 3072 workload")
    parser.add_argument("--quick", action="store_true", help="skip the memory measurement")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        return memory_child(args.memory_child or None, 60_000, 3_072)
    speed(args)
    sklearn_divergence(args)
    if not args.quick:
        memory(args)


if __name__ == "__main__":
    main()

"""The Parzen-window estimate held against the exact test log-likelihood (Theis, van den Oord & Bethge 2016).

    python benchmarks/parzen_vs_truth.py                    # 100 .. 10,000 samples (a few minutes, 2 CPU cores)
    python benchmarks/parzen_vs_truth.py --full             # also 100,000 samples
    python benchmarks/parzen_vs_truth.py --run runs/nade    # a nade/pixelcnn run on digits-binary (new: trained)

A NADE (exact likelihood) is trained on digits-binary (8x8, genmetrics' binarised digits; 1,497 training,
150 validation, 150 test images). Then, on the 150 test digits:

1. its exact test log-likelihood (genmetrics nll) beside the Parzen estimate of its samples (Gaussian
   kernels on the 64 pixel values 0/1, sigma chosen on the validation digits, as genmetrics parzen does)
   as the number of samples grows;
2. Theis et al.'s controls:
   - k-means centroids of the training images used as samples, against as many real training images;
   - a mixture of the model (1%) and uniform noise images (99%): its exact log-likelihood is at most
     log 100 = 4.61 nats below the model's, while 99% of its samples are noise;
   - the training images themselves used as samples ("memorised"), with sigma chosen on validation data
     and with a tiny fixed sigma; the memorising model gives every test digit that is not a training
     digit probability 0 (log-likelihood -inf).

One scale for both: every point set (samples, centroids aside, validation and test digits) is
dequantised, y = (x + u) / 2 with u ~ U[0, 1)^64 (seeded), so that the model is a density on [0, 1]^64,
q(y) = P(x) 2^64, whose exact log-density is log P(x) + 64 ln 2 (REFERENCES.md: bits/dim and the D log L
term), and the Parzen estimate estimates that same density. (On the binary points themselves the
Parzen estimate has no finite limit: the true density is infinite at the atoms, and the estimate rises
without bound as n grows and sigma shrinks.) Results (markdown table, JSON) go to stdout and --out.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from genmetrics import parzen_log_likelihood
from genmetrics.trainers import load_generator, train
from genmetrics.trainers.data import load_binary
from genmetrics.trainers.nll import negative_log_likelihood

# Published anchors (REFERENCES.md, "Likelihood anchors"): printed beside ours for the user who has MNIST.
ANCHORS = [("NADE, static binarised MNIST (Larochelle & Murray 2011)", "88.86 nats NLL"),
           ("PixelCNN, binarised MNIST (van den Oord et al. 2016)", "81.30 nats NLL"),
           ("VAE, k = 5000, one stochastic layer, dynamic binarisation (Burda et al. 2016)", "86.76 nats NLL"),
           ("AAE, Parzen on MNIST (Makhzani et al. 2016)", "340 +- 2 nats LL"),
           ("GAN, Parzen on MNIST (Goodfellow et al. 2014)", "225 +- 2 nats LL")]
# Sigma grid: 0.01 .. 1 (20 widths), wider than parzen_ll.py's 0.1 .. 1 because with many samples of
# binary images the best width falls below 0.1.
GRID = (0.01, 1.0, 20)
TINY_SIGMA = 0.02  # "memorised" control: a width well below the validation-chosen ones
NOISE = 0.99       # Theis et al. 2016, Section 3.2: 99% noise costs at most log 100 nats


def flat01(images: torch.Tensor) -> np.ndarray:
    """uint8 {0, 255} or float [-1, 1] binary images -> float64 (N, 64) in {0, 1}."""
    images = images.float()
    return (images > (0 if images.min() < 0 else 127)).flatten(1).double().numpy()


def dequantise(bits: np.ndarray, seed: int) -> np.ndarray:
    """Binary points -> (x + u) / 2, u ~ U[0, 1)^D: a point of the model's cell in [0, 1]^D."""
    return (bits + np.random.default_rng(1000 + seed).random(bits.shape)) / 2


def parzen(samples: np.ndarray, test, valid, sigma=None) -> dict:
    tuning = {} if sigma else {"sigma_grid": GRID}
    with warnings.catch_warnings():  # binary 8x8 digits repeat across splits (counted in the table instead)
        warnings.simplefilter("ignore", UserWarning)
        r = parzen_log_likelihood(samples, test, None if sigma else valid, sigma, n=len(samples), progress=False,
                                  **tuning)
    return {"ll": r.log_likelihood, "se": r.standard_error, "sigma": r.sigma, "n": r.n_samples}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a nade or pixelcnn run on digits-binary (trained there if new)")
    parser.add_argument("--steps", type=int, default=1500, help="NADE training steps (batch 100)")
    parser.add_argument("--hidden", type=int, default=100, help="NADE hidden units")
    parser.add_argument("--sizes", default="100,1000,10000", help="sample counts")
    parser.add_argument("--full", action="store_true", help="add 100,000 samples")
    parser.add_argument("--kmeans", type=int, default=100, help="k of the k-means control")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--plot", default=None, help="write the Parzen-vs-n plot (PNG) here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny ops on a shared machine: one thread is faster
    start = time.time()
    run = Path(args.run) if args.run else Path(tempfile.mkdtemp()) / "nade"
    if not run.exists():
        train("nade", "digits-binary", run, steps=args.steps, g_width=args.hidden, lr_g=3e-3, device="cpu",
              progress=False, checkpoint_every=0, sample_every=args.steps)
    exact = negative_log_likelihood(run, progress=False)
    test_bits, valid_bits, train_bits = (flat01(load_binary("digits-binary", s, for_training=False)[0])
                                         for s in ("test", "valid", "train"))
    sizes = [int(s) for s in args.sizes.split(",")] + ([100_000] if args.full else [])
    model = load_generator(run)
    sample_bits = flat01(model.sample(max(sizes), seed=0)[0])
    test, valid, train_images, samples = (dequantise(x, seed) for seed, x in
                                          enumerate((test_bits, valid_bits, train_bits, sample_bits)))
    shift = test.shape[1] * math.log(2)  # log of the density of the uniform noise within a cell: D ln 2
    rows = {"exact": {"ll": -exact.nll + shift, "se": exact.nll_se, "model": exact.model, "step": exact.step,
                      "baseline_ll": -exact.baseline_nll + shift, "nll_nats": exact.nll, "shift": shift},
            "parzen_of_samples": [parzen(samples[:n], test, valid) for n in sizes]}

    from sklearn.cluster import KMeans

    k = args.kmeans
    centroids = KMeans(n_clusters=k, n_init=4, random_state=0).fit(train_images).cluster_centers_
    subset = train_images[np.random.default_rng(0).permutation(len(train_images))[:k]]
    rows["kmeans"] = {"k": k, "centroids": parzen(centroids, test, valid), "real": parzen(subset, test, valid),
                      "model_samples": parzen(samples[:k], test, valid)}

    # 99% noise: uniform on [0, 1]^64 (density 1), so the exact log-density of the mixture at y is
    # log(0.01 q(y) + 0.99) with q(y) = P(x) 2^64; and the Parzen estimate of its samples.
    net = model.net
    with torch.no_grad():
        log_p = net.log_prob(torch.from_numpy(test_bits).long().view(-1, *net.shape)).double().numpy() + shift
    log_q = np.logaddexp(math.log(1 - NOISE) + log_p, math.log(NOISE))
    n_mix = min(sizes[-1], 10_000)
    rng = np.random.default_rng(1)
    noise = rng.random(n_mix) < NOISE
    mixed = np.where(noise[:, None], rng.random((n_mix, test.shape[1])), samples[:n_mix])
    rows["noise_mixture"] = {"exact_ll": float(log_q.mean()),
                             "exact_se": float(log_q.std(ddof=1) / math.sqrt(len(log_q))),
                             "exact_drop": float((log_p - log_q).mean()), "bound": math.log(100),
                             "parzen": parzen(mixed.astype(np.float64), test, valid),
                             "parzen_model": parzen(samples[:n_mix], test, valid), "n": n_mix}

    seen = {row.tobytes() for row in train_bits.astype(np.uint8)}
    repeats = int(sum(row.tobytes() in seen for row in test_bits.astype(np.uint8)))
    rows["memorised"] = {"valid_sigma": parzen(train_images, test, valid),
                         "tiny_sigma": parzen(train_images, test, valid, sigma=TINY_SIGMA),
                         "test_in_train": repeats, "n_test": len(test)}
    rows["seconds"] = round(time.time() - start, 1)
    print(table(rows))
    print("\nPublished anchors (MNIST, not these digits):")
    for what, value in ANCHORS:
        print(f"  {what}: {value}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    if args.plot:
        plot(rows, args.plot)
    return rows


def table(rows: dict) -> str:
    e = rows["exact"]
    fmt = lambda r: f"{r['ll']:.2f} ± {r['se']:.2f} (sigma {r['sigma']:.3g})"  # noqa: E731
    lines = ["| what | samples | Parzen estimate (nats) | exact (nats) |", "|---|---|---|---|",
             f"| independent pixels (baseline) | - | - | {e['baseline_ll']:.2f} |"]
    for r in rows["parzen_of_samples"]:
        lines.append(f"| {e['model']} samples | {r['n']:,} | {fmt(r)} | {e['ll']:.2f} ± {e['se']:.2f} |")
    km = rows["kmeans"]
    lines += [f"| k-means centroids of training digits | {km['k']} | {fmt(km['centroids'])} | - |",
              f"| real training digits | {km['k']} | {fmt(km['real'])} | - |",
              f"| {e['model']} samples | {km['k']} | {fmt(km['model_samples'])} | {e['ll']:.2f} |"]
    nm = rows["noise_mixture"]
    lines += [f"| 1% {e['model']} + 99% uniform noise | {nm['n']:,} | {fmt(nm['parzen'])} | "
              f"{nm['exact_ll']:.2f} ± {nm['exact_se']:.2f} ({nm['exact_drop']:.2f} below the model; bound "
              f"{nm['bound']:.2f}) |",
              f"| {e['model']} alone | {nm['n']:,} | {fmt(nm['parzen_model'])} | {e['ll']:.2f} |"]
    mem = rows["memorised"]
    lines += [f"| memorised training digits, sigma on validation | 1,497 | {fmt(mem['valid_sigma'])} | -inf "
              f"({mem['n_test'] - mem['test_in_train']} of {mem['n_test']} test digits unseen) |",
              f"| memorised training digits, tiny sigma | 1,497 | {fmt(mem['tiny_sigma'])} | -inf |"]
    return "\n".join(lines)


def plot(rows: dict, path: str) -> None:
    """Parzen LL of the model's samples against their number (log axis), the exact LL as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, e = rows["parzen_of_samples"], rows["exact"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.errorbar([r["n"] for r in points], [r["ll"] for r in points], [2 * r["se"] for r in points], marker="o",
                label=f"Parzen estimate from {e['model']} samples (sigma on validation)")
    ax.axhline(e["ll"], color="k", label=f"exact test log-likelihood of {e['model']}")
    ax.axhline(e["baseline_ll"], color="grey", ls=":", label="independent pixels (exact)")
    ax.axhline(rows["memorised"]["valid_sigma"]["ll"], color="r", ls="--",
               label="Parzen of memorised training digits (exact: -inf)")
    ax.set_xscale("log")
    ax.set_xlabel("samples")
    ax.set_ylabel("test log-density on [0,1]^64 (nats)")
    ax.set_title("8x8 binarised digits: Parzen vs exact (error bars: 2 SE)")
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

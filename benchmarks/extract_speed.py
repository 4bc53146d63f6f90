"""End-to-end feature extraction speed: genmetrics vs pytorch-fid, same images, same weights, one run.

    python benchmarks/extract_speed.py [--n 400] [--size 32] [--weights FILE]

pytorch-fid runs as its CLI does: ``calculate_activation_statistics`` at its default batch size 50, with
``min(8, cores)`` DataLoader workers. genmetrics runs ``compute_statistics`` with its defaults. Both
protocols of genmetrics are timed: ``pytorch-fid`` (the same preprocessing as the peer) and ``tf`` (the
default). Model construction is outside the timings for both; decoding, resizing and the network are in.
Without --weights, random weights of the exact architecture are used (the real file needs a download).
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, patch_pytorch_fid_weights, timer  # noqa: E402

import genmetrics  # noqa: E402
from genmetrics.features.registry import load_extractor  # noqa: E402
from genmetrics.testing import synthetic_images, write_image_folder, write_random_weights  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="number of images")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--weights", help="FID Inception weights (default: random, same architecture)")
    args = parser.parse_args()

    from pytorch_fid.fid_score import calculate_activation_statistics, get_activations
    from pytorch_fid.inception import InceptionV3

    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or str(write_random_weights(Path(tmp) / "w.pth"))
        folder = Path(tmp) / "images"
        files = [str(p) for p in write_image_folder(folder, synthetic_images(args.n, args.size, seed=0))]
        patch_pytorch_fid_weights(weights)
        workers = min(8, len(os.sched_getaffinity(0)))  # pytorch-fid's CLI default
        model = InceptionV3([3]).eval()
        for resize in ("pytorch-fid", "tf"):
            load_extractor(resize=resize, weights=weights)

        seconds = {}
        with timer(seconds, "pytorch-fid"):
            calculate_activation_statistics(files, model, 50, 2048, "cpu", workers)
        for resize in ("pytorch-fid", "tf"):
            with timer(seconds, f"genmetrics --resize {resize}"):
                genmetrics.compute_statistics(folder, resize=resize, weights=weights, progress=False)

        subset = files[:50]
        theirs = get_activations(subset, model, 50, 2048, "cpu", 0)
        ours = genmetrics.compute_features(subset, resize="pytorch-fid", weights=weights, progress=False)
        agreement = np.abs(ours.features - theirs).max() / np.abs(theirs).max()

    print(f"# extraction, {args.n} images of {args.size}x{args.size}, {machine()}")
    print(f"| tool | images/s | vs pytorch-fid |")
    print(f"|---|---|---|")
    base = args.n / seconds["pytorch-fid"]
    for name, sec in seconds.items():
        rate = args.n / sec
        print(f"| {name} | {rate:.1f} | {rate / base:.2f}x |")
    print(f"features vs pytorch-fid (same protocol): max |diff| / max |feature| = {agreement:.1e}")


if __name__ == "__main__":
    main()

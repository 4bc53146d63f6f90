"""End-to-end feature extraction speed: genmetrics vs pytorch-fid, torch-fidelity and clean-fid, on the
same images and weights, in one run; each peer against genmetrics in that peer's own protocol.

    python benchmarks/extract_speed.py [--n 400] [--size 32] [--weights FILE] [--peers pytorch-fid,...]

- pytorch-fid as its CLI runs: ``calculate_activation_statistics`` at its default batch size 50 with
  ``min(8, cores)`` DataLoader workers; genmetrics ``--resize pytorch-fid``.
- torch-fidelity: ``calculate_metrics(input1=folder, isc=True)`` at batch size 50 (the extraction of one
  input, then IS, which costs nothing beside it), loading the same weights file; genmetrics ``--resize tf``.
- clean-fid: ``get_folder_features(mode="clean")`` with its defaults (batch 32, 12 workers); its extractor
  is pytorch-fid's network fed ``(x - 128) / 128`` at 299, as clean-fid's TorchScript file does (which
  needs a download); genmetrics ``--resize clean``.
genmetrics runs ``compute_statistics`` with its defaults. Model construction is outside every timing;
decoding, resizing and the network are in. Without --weights, random weights of the exact architecture are
used (the real file needs a download): speed does not depend on the weight values.
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


PROTOCOL = {"pytorch-fid": "pytorch-fid", "torch-fidelity": "tf", "clean-fid": "clean"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="number of images")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--weights", help="FID Inception weights (default: random, same architecture)")
    parser.add_argument("--peers", default=",".join(PROTOCOL), help="comma-separated subset of %(default)s")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    unknown = set(peers) - set(PROTOCOL)
    if unknown:
        parser.error(f"unknown peer(s) {sorted(unknown)}")

    from pytorch_fid.fid_score import calculate_activation_statistics, get_activations
    from pytorch_fid.inception import InceptionV3

    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or str(write_random_weights(Path(tmp) / "w.pth"))
        folder = Path(tmp) / "images"
        files = [str(p) for p in write_image_folder(folder, synthetic_images(args.n, args.size, seed=0))]
        patch_pytorch_fid_weights(weights)
        workers = min(8, len(os.sched_getaffinity(0)))  # pytorch-fid's CLI default
        model = InceptionV3([3]).eval()
        for peer in peers:
            load_extractor(resize=PROTOCOL[peer], weights=weights)

        seconds, agreement = {}, {}
        if "pytorch-fid" in peers:
            with timer(seconds, "pytorch-fid"):
                calculate_activation_statistics(files, model, 50, 2048, "cpu", workers)
        if "torch-fidelity" in peers:
            from torch_fidelity import calculate_metrics

            with timer(seconds, "torch-fidelity"):
                calculate_metrics(input1=str(folder), isc=True, batch_size=50, cuda=False, cache=False,
                                  verbose=False, feature_extractor_weights_path=weights)
        if "clean-fid" in peers:
            import torch
            from cleanfid.fid import get_folder_features

            clean_model = InceptionV3([3], resize_input=False, normalize_input=False).eval()

            def clean_extractor(batch):
                with torch.no_grad():
                    return clean_model((batch - 128) / 128)[0].flatten(1)

            with timer(seconds, "clean-fid"):
                get_folder_features(str(folder), clean_extractor, mode="clean", device=torch.device("cpu"),
                                    verbose=False)
        for peer in peers:
            with timer(seconds, f"genmetrics --resize {PROTOCOL[peer]}"):
                genmetrics.compute_statistics(folder, resize=PROTOCOL[peer], weights=weights, progress=False,
                                              cache=False)

        subset = files[:50]
        theirs = get_activations(subset, model, 50, 2048, "cpu", 0)
        ours = genmetrics.compute_features(subset, resize="pytorch-fid", weights=weights, progress=False)
        agreement = np.abs(ours.features - theirs).max() / np.abs(theirs).max()

    print(f"# extraction, {args.n} images of {args.size}x{args.size}, {machine()}")
    print("| peer | peer images/s | genmetrics (same protocol) images/s | ratio |")
    print("|---|---|---|---|")
    for peer in peers:
        theirs_rate = args.n / seconds[peer]
        ours_rate = args.n / seconds[f"genmetrics --resize {PROTOCOL[peer]}"]
        print(f"| {peer} | {theirs_rate:.1f} | {ours_rate:.1f} (`--resize {PROTOCOL[peer]}`) | "
              f"{ours_rate / theirs_rate:.2f}x |")
    print(f"features vs pytorch-fid (same protocol): max |diff| / max |feature| = {agreement:.1e}")
    print("(per-image agreement with torch-fidelity and clean-fid is asserted in tests/test_parity.py)")


if __name__ == "__main__":
    main()

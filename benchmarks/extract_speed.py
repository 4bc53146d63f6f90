"""End-to-end feature extraction speed: genmetrics (torch and onnxruntime backends) against pytorch-fid,
torch-fidelity and clean-fid, on the same images and weights, each peer in its own protocol.

    python benchmarks/extract_speed.py [--n 400] [--size 64] [--rounds 5] [--weights FILE] [--peers ...]
                                       [--network 32]

The tools run alternately, A, B, A, B ... (each round runs every tool once, the order rotating from round
to round), so that a machine whose load drifts slows every tool alike; the table gives each tool's median
images/s and, per peer, the median of the per-round ratios ours/peer with their min and max (the spread).

- pytorch-fid as its CLI runs: ``calculate_activation_statistics`` at its default batch size 50 with
  ``min(8, cores)`` DataLoader workers; genmetrics ``--resize pytorch-fid``.
- torch-fidelity: ``calculate_metrics(input1=folder, isc=True)`` at batch size 50 (the extraction of one
  input, then IS, which costs nothing beside it), loading the same weights file; genmetrics ``--resize tf``.
- clean-fid: ``get_folder_features(mode="clean")`` with its defaults (batch 32, 12 workers); its extractor
  is pytorch-fid's network fed ``(x - 128) / 128`` at 299, as clean-fid's TorchScript file does (which
  needs a download); genmetrics ``--resize clean``.
genmetrics runs ``compute_statistics`` with its defaults and ``backend="torch"`` or ``"onnxruntime"``.
Model construction and the onnxruntime export are outside every timing (a warm-up round on a few images);
decoding, resizing and the network are in. ``--network N``: also the network alone on N images of 299x299
in memory. Without --weights, random weights of the exact architecture are used (the real file needs a
download): speed does not depend on the weight values.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, machine, patch_pytorch_fid_weights  # noqa: E402

import genmetrics  # noqa: E402
from genmetrics.features.registry import load_extractor  # noqa: E402
from genmetrics.testing import synthetic_images, write_image_folder, write_random_weights  # noqa: E402

PROTOCOL = {"pytorch-fid": "pytorch-fid", "torch-fidelity": "tf", "clean-fid": "clean"}
BACKENDS = ("torch", "onnxruntime")


def peer_runners(peers, files, folder, weights):
    """{peer: run()} for the reference tools, models built here (outside the timings)."""
    from pytorch_fid.fid_score import calculate_activation_statistics
    from pytorch_fid.inception import InceptionV3

    patch_pytorch_fid_weights(weights)
    workers = min(8, len(os.sched_getaffinity(0)))  # pytorch-fid's CLI default
    model = InceptionV3([3]).eval()
    runs = {}
    if "pytorch-fid" in peers:
        runs["pytorch-fid"] = lambda: calculate_activation_statistics(files, model, 50, 2048, "cpu", workers)
    if "torch-fidelity" in peers:
        from torch_fidelity import calculate_metrics

        runs["torch-fidelity"] = lambda: calculate_metrics(
            input1=str(folder), isc=True, batch_size=50, cuda=False, cache=False, verbose=False,
            feature_extractor_weights_path=weights)
    if "clean-fid" in peers:
        from cleanfid.fid import get_folder_features

        clean_model = InceptionV3([3], resize_input=False, normalize_input=False).eval()

        def clean_extractor(batch):
            with torch.no_grad():
                return clean_model((batch - 128) / 128)[0].flatten(1)

        runs["clean-fid"] = lambda: get_folder_features(str(folder), clean_extractor, mode="clean",
                                                        device=torch.device("cpu"), verbose=False)
    return runs


def our_runner(folder, weights, resize, backend):
    return lambda: genmetrics.compute_statistics(folder, resize=resize, weights=weights, progress=False,
                                                 cache=False, backend=backend, device="cpu")


def network_alone(n: int, weights: str) -> dict:
    """Images/s of the network alone on ``n`` random 299x299 inputs in memory (median of 3 alternating runs)."""
    from pytorch_fid.inception import InceptionV3

    x = torch.randn(n, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    nets = {"pytorch-fid InceptionV3": lambda: InceptionV3([3]).eval()(x)}
    for backend in BACKENDS:
        model = load_extractor(weights=weights, device="cpu", backend=backend).model
        inputs = x.contiguous(memory_format=torch.channels_last) if backend == "torch" else x
        nets[f"genmetrics {backend}"] = lambda model=model, inputs=inputs: model(inputs, frozenset({"2048"}))
    with torch.inference_mode():
        for run in nets.values():
            run()  # warm-up (and the export)
        seconds = alternate(nets, 3)
    return {name: n / statistics.median(s) for name, s in seconds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="number of images")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (each tool once per round)")
    parser.add_argument("--weights", help="FID Inception weights (default: random, same architecture)")
    parser.add_argument("--peers", default=",".join(PROTOCOL), help="comma-separated subset of %(default)s")
    parser.add_argument("--network", type=int, default=0, help="also time the network alone on N images")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    if set(peers) - set(PROTOCOL):
        parser.error(f"unknown peer(s) {sorted(set(peers) - set(PROTOCOL))}")

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GENMETRICS_CACHE", str(Path(tmp) / "cache"))  # the export: once, outside timings
        weights = args.weights or str(write_random_weights(Path(tmp) / "w.pth"))
        folder = Path(tmp) / "images"
        files = [str(p) for p in write_image_folder(folder, synthetic_images(args.n, args.size, seed=0))]
        runs = peer_runners(peers, files, folder, weights)
        for peer in peers:
            for backend in BACKENDS:
                runs[f"genmetrics {backend} {PROTOCOL[peer]}"] = our_runner(folder, weights, PROTOCOL[peer], backend)
        for peer in peers:  # warm-up: model construction and the export, outside the timings
            for backend in BACKENDS:
                genmetrics.compute_statistics(files[:4], resize=PROTOCOL[peer], weights=weights, progress=False,
                                              cache=False, backend=backend, device="cpu")
        seconds = alternate(runs, args.rounds)
        subset = files[:20]
        agreement = {backend: genmetrics.compute_features(subset, resize="pytorch-fid", weights=weights,
                                                          progress=False, cache=False, backend=backend).features
                     for backend in BACKENDS}
        network = network_alone(args.network, weights) if args.network else {}

    rate = {name: args.n / statistics.median(s) for name, s in seconds.items()}
    print(f"# extraction, {args.n} PNGs of {args.size}x{args.size}, {args.rounds} alternating rounds, "
          f"{machine()}, {time.strftime('%Y-%m-%d')}")
    print("| peer (its protocol) | peer img/s | genmetrics torch img/s | ratio (min-max) "
          "| genmetrics onnxruntime img/s | ratio (min-max) |")
    print("|---|---|---|---|---|---|")
    for peer in peers:
        cells = [f"{peer} (`--resize {PROTOCOL[peer]}`)", f"{rate[peer]:.1f}"]
        for backend in BACKENDS:
            ours = seconds[f"genmetrics {backend} {PROTOCOL[peer]}"]
            ratios = [theirs / mine for theirs, mine in zip(seconds[peer], ours)]
            cells += [f"{rate[f'genmetrics {backend} {PROTOCOL[peer]}']:.1f}",
                      f"**{statistics.median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f})"]
        print("| " + " | ".join(cells) + " |")
    scale = np.abs(agreement["torch"]).max()
    print(f"features, onnxruntime vs torch backend (pytorch-fid protocol, 20 images): max |diff| / max |feature| "
          f"= {np.abs(agreement['onnxruntime'] - agreement['torch']).max() / scale:.1e}")
    if network:
        print(f"network alone, {args.network} images of 299x299 in memory: "
              + ", ".join(f"{name} {value:.1f} img/s" for name, value in network.items()))


if __name__ == "__main__":
    main()

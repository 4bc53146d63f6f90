"""DINOv2 and CLIP extraction speed: genmetrics against torch-fidelity 0.4's extractors, same images, one run.

    python benchmarks/modern_extractors.py --dinov2 dinov2-vit-l14 --clip clip-vit-l14-336 --images 16 --rounds 3

Each round times genmetrics and torch-fidelity once each, alternately (A, B, then B, A next round: a load
that drifts slows both alike); printed: each tool's median images/s over the rounds and the median of the
per-round ratios with their min and max.

Random weights of the exact architecture in the official formats (the real files cannot be downloaded
here; speed does not depend on the values). torch-fidelity's DINOv2 extractor loads its network with
torch.hub, which needs the network: it is pointed at the same network (so the DINOv2 row compares the
pipelines around one model); its CLIP extractor is its own port of openai/CLIP, built from the same weights.
Images: 256 x 256 uint8, as ImageNet-256 samples.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import genmetrics
from genmetrics.features.registry import load_extractor
from genmetrics.testing import random_clip_state_dict, random_dinov2_state_dict, write_state_dict

from _common import machine


def alternate(ours, theirs, n: int, rounds: int) -> str:
    """Median img/s of each and the median (min-max) of the per-round ratios ours/theirs."""
    ours(), theirs()  # warm-up: first-call allocations (and any export) outside the timings
    rates = {"ours": [], "theirs": []}
    for r in range(rounds):
        order = [("ours", ours), ("theirs", theirs)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run()
            rates[name].append(n / (time.perf_counter() - start))
    ratios = [a / b for a, b in zip(rates["ours"], rates["theirs"])]
    return (f"genmetrics {statistics.median(rates['ours']):.2f} img/s, torch-fidelity "
            f"{statistics.median(rates['theirs']):.2f} img/s: {statistics.median(ratios):.2f}x "
            f"({min(ratios):.2f}-{max(ratios):.2f}, {rounds} rounds)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dinov2", default="dinov2-vit-l14", help="a DINOv2 extractor, or none")
    parser.add_argument("--clip", default="clip-vit-l14-336", help="a CLIP extractor, or none")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"),
                        help="what runs genmetrics' network (torch-fidelity's runs in torch)")
    args = parser.parse_args()
    images = np.random.default_rng(0).integers(0, 256, (args.images, 256, 256, 3), dtype=np.uint8)
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    folder = Path(tempfile.mkdtemp())
    print(machine(), f"| {args.images} images of 256 px, batch {args.batch_size}, fp32, CPU")

    if args.dinov2 != "none":
        dinov2_row(args, images, batch, folder)
    if args.clip != "none":
        clip_row(args, images, batch, folder)


def dinov2_row(args, images, batch, folder):
    dinov2 = write_state_dict(folder / "dinov2.pth", random_dinov2_state_dict(args.dinov2))
    ours_dinov2 = (lambda: genmetrics.compute_features(images, extractor=args.dinov2, extractor_weights=dinov2,
                                                       batch_size=args.batch_size, progress=False, cache=False,
                                                       device="cpu", backend=args.backend))
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    model = load_extractor(args.dinov2, extractor_weights=dinov2, device="cpu", backend="torch").model
    module = torch.nn.Module()
    module.forward = lambda x: model(x, frozenset({"features"}))["features"]
    torch.hub.load = lambda *a, **k: module
    theirs_model = FeatureExtractorDinoV2(args.dinov2[:-2] + "-14", ["dinov2"])  # dinov2-vit-l14 -> dinov2-vit-l-14
    with torch.no_grad():
        line = alternate(ours_dinov2, lambda: [theirs_model(b) for b in batch.split(args.batch_size)],
                         args.images, args.rounds)
    print(f"{args.dinov2} (genmetrics backend {args.backend}): {line}")


def clip_row(args, images, batch, folder):
    import torch_fidelity.feature_extractor_clip as tf_clip

    state = {k: v.half() for k, v in random_clip_state_dict(args.clip).items()}
    clip = write_state_dict(folder / "clip.pt", state)
    ours_clip = (lambda: genmetrics.compute_features(images, extractor=args.clip, extractor_weights=clip,
                                                     batch_size=args.batch_size, progress=False, cache=False,
                                                     device="cpu", backend=args.backend))

    class Archive:
        def state_dict(self):
            return dict(state)

    tf_clip.torch.jit.load = lambda *a, **k: Archive()
    tf_names = {"clip-vit-b32": "clip-vit-b-32", "clip-vit-l14": "clip-vit-l-14", "clip-vit-l14-336": "clip-vit-l-14-336px"}
    theirs_model = tf_clip.FeatureExtractorCLIP(tf_names[args.clip], ["clip"], feature_extractor_weights_path="x")
    with torch.no_grad():
        line = alternate(ours_clip, lambda: [theirs_model(b) for b in batch.split(args.batch_size)],
                         args.images, args.rounds)
    print(f"{args.clip} (genmetrics backend {args.backend}): {line}")


if __name__ == "__main__":
    main()

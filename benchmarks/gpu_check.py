"""What the CPU test suite cannot check: feature and metric numbers on a CUDA GPU, and their speed there.

    python benchmarks/gpu_check.py [--n 2100] [--size 64] [--rounds 3] [--json gpu_check.json]
    python benchmarks/gpu_check.py --device cpu --n 60 --size 32 --rounds 1    # a dry run of the script

1. Features of the same PNGs (pytorch-fid protocol, random weights of the exact architecture) on CUDA
   against the CPU's float32 (the reference tools' arithmetic): genmetrics at fp32 (TF32 off), tf32 and
   bf16, and pytorch-fid's own InceptionV3 on CUDA with PyTorch's defaults (cuDNN convolutions in TF32)
   and with TF32 off. Error: max |a - b| / max |b| over every feature.
2. FID, KID, IS, precision, recall, density and coverage of two image sets from features and metric
   arithmetic on CUDA against the CPU, and the FID of pytorch-fid's CUDA features (n above the 2,048 dims,
   so that the covariances are not singular).
3. Speed end to end (PNG decoding, resize, network): genmetrics on CUDA at fp32, tf32 and bf16 against
   pytorch-fid's ``calculate_activation_statistics`` (batch 50, min(8, cores) DataLoader workers, its
   CLI's defaults), alternating A, B, A, B; the median of ``--rounds`` rounds.
4. Training on CUDA: dcgan on the bundled digits, 40 steps in one run against 20 steps then --resume to 40
   (the largest difference between the two generators' weights).
5. With --profile: the top functions of one genmetrics run and one pytorch-fid run (cProfile), to find what
   keeps genmetrics below pytorch-fid's speed on a GPU (docs/speed.md).

Each section's figures go to --json as soon as it ends; a failing section is recorded and the next runs.
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, machine, patch_pytorch_fid_weights  # noqa: E402

import genmetrics  # noqa: E402
from genmetrics.features.extract import cuda_tf32  # noqa: E402
from genmetrics.testing import synthetic_images, write_image_folder, write_random_weights  # noqa: E402

DEVICE = "cuda"  # --device cpu: a dry run of the script's code on a machine without a GPU
METRICS = ("fid", "kid", "is", "precision", "recall", "density", "coverage")


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def ours(files, weights, device, precision="fp32", **options):
    return genmetrics.compute_features(files, weights=weights, device=device, precision=precision, backend="torch",
                                       resize="pytorch-fid", progress=False, cache=False, **options).features


def pytorch_fid_features(files, tf32: bool):
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    with contextlib.nullcontext() if tf32 else cuda_tf32(False):  # tf32: PyTorch's defaults, as pytorch-fid runs
        model = InceptionV3([3]).eval().to(DEVICE)
        return get_activations(files, model, 50, 2048, DEVICE, min(8, os.cpu_count()))


def features_section(files, weights) -> dict:
    precisions = ("fp32", "tf32", "bf16") if DEVICE == "cuda" else ("fp32", "bf16")  # tf32 is CUDA's
    cpu = ours(files, weights, "cpu")
    out = {f"genmetrics cuda {p}": relative(ours(files, weights, DEVICE, p), cpu) for p in precisions}
    out["pytorch-fid cuda, PyTorch defaults (cuDNN TF32)"] = relative(pytorch_fid_features(files, True), cpu)
    out["pytorch-fid cuda, TF32 off"] = relative(pytorch_fid_features(files, False), cpu)
    out["cudnn.allow_tf32 default"] = torch.backends.cudnn.allow_tf32
    return out


def metrics_section(real, fake, weights) -> dict:
    from genmetrics.metrics.fid import frechet_distance

    results = {}
    for device in ("cpu", DEVICE):
        values = genmetrics.evaluate(real, fake, METRICS, weights=weights, device=device, progress=False,
                                     resize="pytorch-fid")
        results[device] = {k: v for k, v in values.items() if isinstance(v, (int, float))}
    results["largest relative difference cuda/cpu"] = max(
        abs(results[DEVICE][k] - v) / max(abs(v), 1e-12) for k, v in results["cpu"].items() if k in results[DEVICE])
    # pytorch-fid's features on CUDA at PyTorch's defaults, their FID by our Frechet distance (pytorch-fid 0.3.0's
    # own calculate_frechet_distance passes sqrtm(disp=False), which scipy 1.18 no longer accepts)
    stats = [(f.mean(0), np.cov(f, rowvar=False)) for f in (pytorch_fid_features(x, True) for x in (real, fake))]
    results["pytorch-fid features on cuda (TF32), fid"] = float(frechet_distance(*stats[0], *stats[1]))
    return results


def speed_section(files, folder, weights, rounds) -> dict:
    from pytorch_fid.fid_score import calculate_activation_statistics
    from pytorch_fid.inception import InceptionV3

    model = InceptionV3([3]).eval().to(DEVICE)
    workers = min(8, os.cpu_count())
    runs = {"pytorch-fid": lambda: calculate_activation_statistics(files, model, 50, 2048, DEVICE, workers),
            **{f"genmetrics {p}": lambda p=p: genmetrics.compute_statistics(
                folder, weights=weights, device=DEVICE, resize="pytorch-fid", precision=p, progress=False, cache=False)
               for p in (("fp32", "tf32", "bf16") if DEVICE == "cuda" else ("fp32", "bf16"))}}
    for run in runs.values():
        run()  # warm-up: model construction, cuDNN's algorithm search
    sync()
    seconds = alternate({name: lambda run=run: (run(), sync()) for name, run in runs.items()}, rounds)
    rates = {name: len(files) / statistics.median(s) for name, s in seconds.items()}
    return {"images_per_s": rates, "seconds": seconds,
            "ratio vs pytorch-fid": {n: rates[n] / rates["pytorch-fid"] for n in rates if n != "pytorch-fid"}}


def profile_section(files, folder, weights) -> dict:
    """Where the time goes: the top functions (cumulative) of one genmetrics tf32 run and one pytorch-fid run."""
    import cProfile
    import io
    import pstats

    from pytorch_fid.fid_score import calculate_activation_statistics
    from pytorch_fid.inception import InceptionV3

    model = InceptionV3([3]).eval().to(DEVICE)
    workers = min(8, os.cpu_count())
    precision = "tf32" if DEVICE == "cuda" else "fp32"
    runs = {f"genmetrics {precision}": lambda: genmetrics.compute_statistics(
                folder, weights=weights, device=DEVICE, resize="pytorch-fid", precision=precision, progress=False,
                cache=False),
            "pytorch-fid": lambda: calculate_activation_statistics(files, model, 50, 2048, DEVICE, workers)}
    out = {}
    for name, run in runs.items():
        run()  # warm-up
        profiler = cProfile.Profile()
        profiler.runcall(run)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        out[name] = text.getvalue().splitlines()[-40:]
    return out


def training_section(tmp: Path, device: str) -> dict:
    from genmetrics.trainers import load_generator, train

    common = dict(device=device, steps=40, progress=False, sample_every=0, seed=0)
    train("dcgan", "digits", tmp / "once", **common)
    train("dcgan", "digits", tmp / "twice", max_steps=20, **common)
    started = time.perf_counter()
    train("dcgan", "digits", tmp / "twice", resume=True, **common)
    a, b = (load_generator(tmp / run, device="cpu").net.state_dict() for run in ("once", "twice"))
    diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())
    return {"resume max |weight difference|": diff, "20 resumed steps, seconds": time.perf_counter() - started}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2100, help="images per set")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--device", default="cuda", help="cuda; cpu for a dry run of this script")
    parser.add_argument("--profile", action="store_true", help="also profile one run of each tool (cProfile)")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device")
    report = {"machine": machine(), "gpu": torch.cuda.get_device_name() if DEVICE == "cuda" else "none",
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("GENMETRICS_CACHE", str(tmp / "cache"))
        weights = str(write_random_weights(tmp / "w.pth"))
        patch_pytorch_fid_weights(weights)
        real = [str(p) for p in write_image_folder(tmp / "real", synthetic_images(args.n, args.size, seed=0))]
        fake = [str(p) for p in write_image_folder(tmp / "fake", synthetic_images(args.n, args.size, seed=1,
                                                                                    contrast=0.8))]
        sections = {"features": lambda: features_section(real[:200], weights),
                    "metrics": lambda: metrics_section(real, fake, weights),
                    "speed": lambda: speed_section(real, tmp / "real", weights, args.rounds),
                    "training": lambda: training_section(tmp, DEVICE)}
        if args.profile:
            sections["profile"] = lambda: profile_section(real, tmp / "real", weights)
        for name, section in sections.items():
            started = time.perf_counter()
            try:
                report[name] = section()
            except Exception:  # record it and go on: one lease, every section's figures
                report[name] = {"error": traceback.format_exc()}
            report[name]["section seconds"] = round(time.perf_counter() - started, 1)
            args.json.write_text(json.dumps(report, indent=2, default=str))
            print(name, json.dumps(report[name], indent=2, default=str), flush=True)


if __name__ == "__main__":
    main()

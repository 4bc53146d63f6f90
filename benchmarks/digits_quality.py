"""How recognisable are the digits of the default offline run? Confidence and class coverage of a
digit classifier on the samples of ``genmetrics train dcgan --data digits``, over several seeds.

The classifier sees only what training sees: the digits' training split (1,497 images at the run's
resolution, as training loads them; the pixels in [0, 1] are the features, so a scribble at 32 px is
not averaged away as it would be at the digits' native 8x8). It is scikit-learn's RBF SVC with its
default C and gamma, its probabilities calibrated by Platt scaling on 5-fold cross-validated decision
values (``CalibratedClassifierCV(SVC(), ensemble=False)``, scikit-learn 1.9's replacement for
``SVC(probability=True)``), with an 11th class, "junk": 1,497 overlays of two training digits of
different classes (weights 0.35-0.65), so that a scribble that mixes strokes of several digits is not
counted as a digit (outlier exposure, Hendrycks et al. 2019). Its 10-way accuracy is reported on the
300 held-out digits (valid + test). For ``-n`` samples (seed 0 of ``genmetrics sample``) of each run's
final weights it reports:

- confident: the fraction predicted as a digit with probability >= 0.9 ("clearly recognisable");
- junk: the fraction whose most probable class is junk;
- classes: how many digits are clearly recognisable in >= 1% of all samples; min: the rarest one's
  fraction of all samples; shares: each digit's share of the clearly recognisable samples;
- kl: KL(shares || uniform) in nats (0: balanced; log 10 = 2.30: one digit only);
- fd: Fréchet distance between samples and held-out digits in the classifier's 11 one-vs-rest decision
  values (genmetrics' frechet_distance): FID with the SVC in place of Inception;
- digits classifier: the same samples in the space of the classifier that ships with genmetrics
  (``--extractor digits``): FID of its 128-d features against the 300 held-out digits, the classes its
  argmax covers, their KL to uniform, and its share of softmax >= 0.9 (trained on clean digits only, it is
  confident on scribbles too: hence the SVC's junk class above).

The same numbers for real digits (the 300 held-out ones, -n training ones) and for overlays of two
held-out digits are printed first, as the ceiling and the floor. Each run also records its steps, wall
seconds, CPU seconds (process time, less inflated than wall time when other processes share the cores)
and torch's thread count.

    python benchmarks/digits_quality.py                                  # default settings, seeds 0-2
    python benchmarks/digits_quality.py --seeds 5 --set steps=600 --set batch_size=128 --label old
    python benchmarks/digits_quality.py --score runs/digits              # score existing run folders
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmetrics.features.digits import load_classifier, to_network_input  # noqa: E402
from genmetrics.metrics.class_coverage import class_coverage_from_logits  # noqa: E402
from genmetrics.metrics.fid import frechet_distance  # noqa: E402
from genmetrics.trainers import load_generator, train  # noqa: E402
from genmetrics.trainers.config import parse_setting  # noqa: E402
from genmetrics.trainers.data import load_digits  # noqa: E402
from genmetrics.trainers.generator import to_uint8_nhwc  # noqa: E402

CONFIDENT = 0.9          # max class probability counted as "clearly recognisable"
PRESENT = 0.01           # a class is produced when >= 1% of all samples are clearly recognisable as it
JUNK = 10                # the classifier's 11th class: two digits of different classes overlaid
BLEND = (0.35, 0.65)     # the overlay's mixing weight is drawn from this range (both digits visible)


def pixels(images: torch.Tensor) -> np.ndarray:
    """uint8 NCHW -> (N, C*H*W) floats in [0, 1] at the images' own resolution."""
    return (images.float() / 255.0).flatten(1).numpy()


def overlays(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` images that are two digits of different classes overlaid: examples of "not a digit"."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(x), 4 * n), rng.integers(0, len(x), 4 * n)
    keep = np.flatnonzero(y[i] != y[j])[:n]
    weight = rng.uniform(*BLEND, (len(keep), 1))
    return weight * x[i[keep]] + (1 - weight) * x[j[keep]]


def digits_space(x: np.ndarray, size: int, _net=[]) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64) and logits of the shipped digits classifier (``--extractor digits``) for
    (N, size*size) images in [0, 1]."""
    if not _net:
        _net.append(load_classifier())
    batch = torch.from_numpy(np.rint(x * 255)).float().view(-1, 1, size, size)
    with torch.no_grad():
        features = _net[0].features(to_network_input(batch))
        logits = _net[0].fc2(features)
    return features.double().numpy(), logits.double().numpy()


class DigitJudge:
    """The classifier and the held-out reference for one training resolution."""

    def __init__(self, size: int):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        train_images, train_labels = load_digits(size, "train")
        held = [load_digits(size, split) for split in ("valid", "test")]
        self.size = size
        self.x_train, y_train = pixels(train_images), train_labels.numpy()
        self.x_held = pixels(torch.cat([images for images, _ in held]))
        y_held = torch.cat([labels for _, labels in held]).numpy()
        # A scribble is confidently "some digit" to a 10-class classifier: overlays of two digits got 70%
        # of their predictions at p >= 0.9 from one (and GAN samples 62%, real held-out digits 82%). With the
        # overlays as an 11th class the numbers are 3%, 37% and 80% (docs/trainers.md).
        junk = overlays(self.x_train, y_train, len(self.x_train), seed=0)
        self.classifier = CalibratedClassifierCV(SVC(), ensemble=False).fit(
            np.concatenate([self.x_train, junk]), np.concatenate([y_train, np.full(len(junk), JUNK)]))
        digit = self.classifier.predict_proba(self.x_held)[:, :JUNK].argmax(1)
        self.accuracy = float((digit == y_held).mean())  # 10-way: the most probable digit class
        self.held_decisions = self.decisions(self.x_held)
        self.held_overlays = overlays(self.x_held, y_held, len(self.x_held), seed=1)
        self.held_features = digits_space(self.x_held, size)[0]

    def decisions(self, x: np.ndarray) -> np.ndarray:
        return self.classifier.calibrated_classifiers_[0].estimator.decision_function(x)

    def score(self, x: np.ndarray) -> dict:
        """The module docstring's numbers for (N, C*H*W) images in [0, 1]."""
        probs = self.classifier.predict_proba(x)
        top = probs.argmax(1)
        confident = (probs.max(1) >= CONFIDENT) & (top != JUNK)
        per_class = np.bincount(top[confident], minlength=JUNK)[:JUNK] / len(x)
        shares = per_class / max(per_class.sum(), 1e-12)
        kl = float(sum(p * math.log(JUNK * p) for p in shares if p > 0))
        d = self.decisions(x)
        fd = frechet_distance(d.mean(0), np.cov(d, rowvar=False), self.held_decisions.mean(0),
                              np.cov(self.held_decisions, rowvar=False))
        features, logits = digits_space(x, self.size)
        held = self.held_features
        fid_digits = frechet_distance(features.mean(0), np.cov(features, rowvar=False), held.mean(0),
                                      np.cov(held, rowvar=False))
        coverage = class_coverage_from_logits(logits)
        return {"n": len(x), "confident": float(confident.mean()), "junk": float((top == JUNK).mean()),
                "classes": int((per_class >= PRESENT).sum()), "min_class": float(per_class.min()),
                "shares": [round(float(s), 4) for s in shares], "kl": kl, "fd": float(fd),
                "fid_digits": float(fid_digits), "cnn_classes": coverage.classes_covered,
                "cnn_kl": coverage.class_kl, "cnn_confident": coverage.confident_fraction}

    def score_run(self, run: Path, n: int) -> dict:
        generator = load_generator(run / "checkpoints" / "latest.pt")
        if generator.image_size != self.size:
            raise SystemExit(f"{run}: trained at {generator.image_size} px, the judge at {self.size}")
        images, _ = generator.sample(n, seed=0)
        uint8 = torch.from_numpy(to_uint8_nhwc(images)).permute(0, 3, 1, 2)  # as a saved PNG holds them
        return self.score(pixels(uint8))

    def references(self, n: int) -> list[dict]:
        picked = np.random.default_rng(0).permutation(len(self.x_train))[:n]
        return [{"label": "real: held-out digits (300)", **self.score(self.x_held)},
                {"label": f"real: training digits ({len(picked)})", **self.score(self.x_train[picked])},
                {"label": "overlays of 2 held-out digits", **self.score(self.held_overlays)}]


def train_and_score(judge_for, seed: int, root: Path, overrides: dict, n: int, label: str) -> dict:
    out = root / f"{label}-seed{seed}"
    threads = torch.get_num_threads()
    wall, cpu = time.monotonic(), time.process_time()
    result = train("dcgan", "digits", out, seed=seed, progress=False, **overrides)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    config = json.loads((out / "config.json").read_text())
    row = {"label": label, "seed": seed, "steps": result.steps, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
           "ms_per_step": round(1000 * wall / result.steps, 1), "threads": threads, "run": str(out),
           "config": config, **judge_for(config["image_size"]).score_run(out, n)}
    return row


def line(row: dict) -> str:
    timing = (f" | {row['steps']} steps {row['wall_s']:.0f} s wall ({row['ms_per_step']:.0f} ms/step) "
              f"{row['cpu_s']:.0f} s CPU") if "steps" in row else ""
    seed = f" seed {row['seed']}" if "seed" in row else ""
    shares = " ".join(f"{100 * s:.0f}" for s in row["shares"])
    return (f"{row['label'] + seed:34s} confident {row['confident']:6.1%} junk {row['junk']:6.1%} classes "
            f"{row['classes']:2d} min {row['min_class']:5.1%} kl {row['kl']:.3f} fd {row['fd']:6.2f} "
            f"| digits classifier: FID {row['fid_digits']:6.2f} classes {row['cnn_classes']:2d} kl "
            f"{row['cnn_kl']:.3f} confident {row['cnn_confident']:6.1%} | shares % {shares}{timing}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="train seeds 0..N-1 [3]")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a TrainConfig override, as genmetrics train --set (repeatable)")
    parser.add_argument("--label", default="defaults", help="name of this setting in the output")
    parser.add_argument("-n", type=int, default=1000, help="samples scored per run [1000]")
    parser.add_argument("--score", type=Path, action="append", default=[], metavar="RUN",
                        help="score this existing run folder instead of training (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here [a temp dir]")
    parser.add_argument("--json", type=Path, default=None, help="also write every row to this JSON file")
    args = parser.parse_args(argv)
    overrides = dict(parse_setting(s) for s in args.settings)
    judges: dict[int, DigitJudge] = {}

    def judge_for(size: int) -> DigitJudge:
        if size not in judges:
            judges[size] = DigitJudge(size)
            print(f"classifier at {size} px: held-out accuracy {judges[size].accuracy:.1%} (300 digits)")
            for row in judges[size].references(args.n):
                print(line(row))
        return judges[size]

    rows = []
    if args.score:
        for run in args.score:
            size = json.loads((run / "config.json").read_text())["image_size"]
            rows.append({"label": str(run), **judge_for(size).score_run(run, args.n)})
            print(line(rows[-1]), flush=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            root = args.out or Path(tmp)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                rows.append(train_and_score(judge_for, seed, root, overrides, args.n, args.label))
                print(line(rows[-1]), flush=True)
        keys = ("confident", "junk", "classes", "min_class", "kl", "fd", "fid_digits", "cnn_classes", "cnn_kl",
                "cnn_confident")
        worst = {k: (max if k in ("junk", "kl", "fd", "fid_digits", "cnn_kl") else min)(r[k] for r in rows)
                 for k in keys}
        print(f"worst over {len(rows)} seeds: " + " ".join(f"{k} {v:.3f}" for k, v in worst.items()))
    if args.json:
        args.json.write_text(json.dumps({"accuracy": {s: j.accuracy for s, j in judges.items()}, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()

"""FID in a Lightning validation loop with genmetrics' streaming FID: DDP-safe, saved with the checkpoint.

    pip install genmetrics lightning scikit-learn
    python examples/lightning_fid.py                         one CPU process
    python examples/lightning_fid.py --devices 2             two DDP processes (gloo on CPU): the same FID
    python examples/lightning_fid.py --epochs 20 --accelerator gpu --devices 4

The model is deliberately small, so that the example runs in seconds offline: a generative moment-matching
network (Li, Swersky & Zemel 2015) that maps 16 Gaussian latents to an 8x8 digit, trained to make a
batch's maximum mean discrepancy to a batch of real digits small. The digits are scikit-learn's bundled
set and the features those of genmetrics' shipped digits classifier (``extractor="digits"``): no download.
For ImageNet-sized models use the default Inception extractor and a statistics file (``reference=
"real_stats.npz"`` or ``"ref:NAME"``) instead of images.

How the metric object is used (the pattern to copy):

- ``self.fid = genmetrics.metrics.FID(reference=..., extractor=...)`` in ``__init__``: the object is a
  ``torch.nn.Module``, so Lightning moves it with the model and saves its state in every checkpoint;
  its reference statistics are computed once, here, before any process group exists.
- ``validation_step``: ``self.fid.update(images)`` with this rank's batch ([0, 1] floats or uint8).
- ``on_validation_epoch_end``: ``self.fid.compute()`` on EVERY rank (it all-reduces the float64 sums: a
  collective; a rank that skipped it would leave the others waiting), then ``reset(keep_reference=True)``.
  Every rank gets the same value, that of one process over all the ranks' samples.
- Under DDP, Lightning's DistributedSampler pads the validation set with repeated samples until it divides
  by the number of ranks; ``--val-samples`` must therefore be a multiple of ``--devices`` for the FID to be
  that of exactly those samples (checked below).
"""
from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import genmetrics
from genmetrics.trainers.data import load_digits

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - the message is the point
    raise SystemExit("this example needs Lightning: pip install lightning") from None

SIZE = 8  # the digits' own resolution; the digits classifier resizes to its 32 px input itself
LATENT = 16
# Gaussian kernel widths of the MMD: several, spread around the typical distance between two 8x8 digits in
# [0, 1] pixels (about 3), as Li et al. 2015 (section 3) mix widths around MNIST's.
BANDWIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0)


def mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Biased squared MMD with a sum of Gaussian kernels (Li et al. 2015, eq. 2), on flattened images."""
    xy = torch.cat([x, y])
    distances = torch.cdist(xy, xy).pow(2)
    kernel = sum(torch.exp(-distances / (2 * b ** 2)) for b in BANDWIDTHS)
    n = len(x)
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


class DigitsGMMN(pl.LightningModule):
    def __init__(self, real: torch.Tensor, lr: float = 1e-3):
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(LATENT, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                                       nn.Linear(128, SIZE * SIZE), nn.Sigmoid())
        self.lr = lr
        # The streaming FID against the real digits (uint8 NCHW); any genmetrics reference works here.
        self.fid = genmetrics.metrics.FID(reference=real, extractor="digits")
        self.fids: list[float] = []  # every validation's FID, full float64 precision (self.log keeps float32)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z).view(-1, 1, SIZE, SIZE)  # [0, 1] floats

    def training_step(self, batch, batch_idx):
        (real,) = batch
        fake = self(torch.randn(len(real), LATENT, device=real.device))
        loss = mmd2(fake.flatten(1), real.flatten(1).float() / 255)
        self.log("train_mmd2", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        (z,) = batch
        self.fid.update(self(z))  # this rank's samples only

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:  # Lightning's check of a couple of batches: not an evaluation
            self.fid.reset(keep_reference=True)
            return
        result = self.fid.compute()  # on every rank: all-reduces the sums across DDP ranks
        self.fids.append(result.fid)
        # The same value on every rank already; sync_dist=True averages equal values (no change) and keeps
        # Lightning from warning that an epoch-level value was not synchronised.
        self.log("val_fid", result.fid, prog_bar=True, sync_dist=True)
        self.fid.reset(keep_reference=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.generator.parameters(), lr=self.lr)


def validation_latents(n: int, seed: int = 0) -> torch.Tensor:
    """Fixed latents, so that successive validations score the same draws."""
    return torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed))


def main(argv=None, **trainer_options) -> DigitsGMMN:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--val-samples", type=int, default=1000, help="Samples per validation (a multiple of "
                                                                       "--devices).")
    parser.add_argument("--real-samples", type=int, default=None, help="Train on (and compare with) the first N "
                                                                          "training digits [default: all 1,497].")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.val_samples % args.devices:
        parser.error(f"--val-samples {args.val_samples} is not a multiple of --devices {args.devices}: Lightning "
                     f"would repeat samples to even out the ranks")
    pl.seed_everything(args.seed, verbose=False)
    real = load_digits(SIZE, "train")[0][:args.real_samples]  # uint8 (1497, 1, 8, 8), bundled with scikit-learn
    model = DigitsGMMN(real)
    train = DataLoader(TensorDataset(real), batch_size=args.batch_size, shuffle=True, drop_last=True)
    val = DataLoader(TensorDataset(validation_latents(args.val_samples, args.seed)), batch_size=args.batch_size)
    options = dict(max_epochs=args.epochs, accelerator=args.accelerator, devices=args.devices,
                   strategy="ddp" if args.devices > 1 else "auto", logger=False, enable_checkpointing=False,
                   enable_model_summary=False)
    options.update(trainer_options)
    trainer = pl.Trainer(**options)
    trainer.fit(model, train, val)
    if trainer.is_global_zero:
        print("FID (digits features) per epoch:", ", ".join(f"{fid:.3f}" for fid in model.fids))
    return model


if __name__ == "__main__":
    main()

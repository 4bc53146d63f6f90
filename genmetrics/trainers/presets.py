"""The default tables a training configuration is resolved from (config.resolve_config, in this order):
``COMMON[kind]``, then the family's published defaults, then ``DATASET_DEFAULTS`` (run length and
resolution per dataset), then ``TUNED_DEFAULTS`` (settings measured for one model on one dataset). Every
value says where it comes from.
"""
from __future__ import annotations

COMMON = {
    "image": dict(
        # z: 100 dimensions (Radford et al. 2015, Section 4: "a 100 dimensional uniform distribution Z";
        # we draw N(0, I) as pytorch/examples dcgan does, so truncation applies).
        z_dim=100,
        # ngf = ndf = 64: pytorch/examples dcgan main.py defaults.
        g_width=64, d_width=64,
        # 25 epochs: pytorch/examples dcgan main.py --niter default.
        epochs=25, eval_every=0, eval_n=2000, sample_every=500, checkpoint_every=1000, log_every=50,
    ),
    "toy": dict(
        # Tuned on this package's CPU benchmark (benchmarks/toy_modes.py; numbers in docs/trainers.md),
        # starting from PacGAN's networks: G 4 x 400 ReLU, z 2-d; D 3 x 200 maxout (5 pieces); batch 100
        # (synthetic_data_experiments/2DRing_GAN&PacGAN/config.py, pacgan_task.py). Changed while tuning:
        # no batch norm in G (with it the eval-mode G stayed below 80% high quality on grid25) and
        # PyTorch's default initialisation instead of PacGAN's N(0, 0.02).
        z_dim=2, g_width=400, g_depth=4, g_batchnorm=False, d_width=200, d_depth=3, d_norm="none",
        d_activation="maxout", maxout_pieces=5, batch_size=100, init_std=0.0,
        eval_every=500, eval_n=2500, sample_every=1000, checkpoint_every=1000, log_every=50,
    ),
}

# Practical defaults per dataset: resolution and run length, not hyperparameters.
DATASET_DEFAULTS = {
    # digits: 1,797 8x8 images upsampled to 32, the networks at the digits' own 8x8 (nets.py).
    "digits": dict(image_size=32, native_size=8, epochs=None, steps=600, g_width=32, d_width=32,
                   sample_every=100),
    # stacked-digits: three digits as RGB (1,000 modes); 600 steps of 32-channel networks at 32 px.
    "stacked-digits": dict(image_size=32, epochs=None, steps=600, g_width=32, d_width=32, sample_every=100),
    "mnist": dict(image_size=28),
    "fashion-mnist": dict(image_size=28),
    "cifar10": dict(image_size=32),
    # Toy run lengths of the toy families; gan's own, longer ones are in TUNED_DEFAULTS (docs/trainers.md).
    "ring8": dict(steps=8000),
    "grid25": dict(steps=12000),
}

# Settings measured to work better than the published ones for one (model, data) pair; each departure is
# stated with its measurement.
TUNED_DEFAULTS = {
    # The README's first run, `genmetrics train dcgan --data digits`: benchmarks/digits_quality.py, seeds 0-2,
    # table in docs/trainers.md. With the networks at 8x8 a step costs about a quarter of a 32 px step, so
    # 3,000 steps fit in the two minutes that 600 steps at 32 px took. Departures from Radford et al. 2015
    # (Section 4): batch 64 (not 128: twice the updates for the time), lr 5e-4 decayed linearly to 0 (not a
    # constant 2e-4: 64.5% of samples clearly recognisable against 62.7% on seed 0, Frechet distance 3.2
    # against 3.6), 64 channels (the 8x8 networks are small enough to afford them).
    ("dcgan", "digits"): dict(g_width=64, d_width=64, batch_size=64, steps=3000, lr_g=5e-4, lr_d=5e-4,
                              lr_decay="linear", sample_every=500),
    # Toy gan on ring8: 16,000 steps, twice the toy run length, because the high-quality fraction swings while
    # the learning rate is high and settles only as its linear decay nears zero (benchmarks/toy_modes.py
    # --data ring8 --model gan --steps 16000, seeds 0-9 all 8/8 modes with >= 95%; at 8,000 seed 2 gave
    # 91.5%; table in docs/trainers.md).
    ("gan", "ring8"): dict(steps=16000),
    # Toy gan on grid25: 16,000 steps (the grid's toy length is 12,000) for the same reason: at 12,000 seed 7
    # ended at 88.4% high quality, still rising (86.3% at step 11,000), and at 16,000 at 94.7% (seeds 0-6 at
    # 12,000: 94.0-96.3%). benchmarks/toy_modes.py --data grid25 --model gan; table in docs/trainers.md.
    ("gan", "grid25"): dict(steps=16000),
    # Toy unrolled on grid25: the toy gan's G (4 x 400 units, not the paper's 2 x 128). With the paper's G and
    # no R1 penalty (unrolled's toy default since, unrolled.py) seed 0 collapsed onto one mode by step 1,000
    # and ended with 2 of 25 (the paper's constant Adam 1e-4: 14 modes, 5.9%; the penalty alone: 24 modes,
    # 9.5%); with both, seeds 0-9 end with 24-25 modes and 68.3-82.2% high quality (VEEGAN's Unrolled GAN
    # row: 23.6 modes, 16%). Not on ring8, where the larger G (without the penalty) dropped modes on seed 1
    # (6 of 8). benchmarks/toy_modes.py --model unrolled; docs/trainers.md.
    ("unrolled", "grid25"): dict(g_width=400, g_depth=4),
    # Toy lsgan on grid25: 16,000 steps, the toy gan's grid25 length (lsgan's toy defaults are the toy gan's).
    # Seeds 0-9 end with 23-25 of 25 modes (mean 24.6) at 57.3-90.6% high quality; no published row to hold.
    # Without the R1 penalty seeds 0 and 1 ended with 20 and 21 modes (82.8%, 92.7%). docs/trainers.md.
    ("lsgan", "grid25"): dict(steps=16000),
    # Toy wgan-gp on grid25: penalty weight 1 (ring8's 0.1 is wgan-gp's toy default). On seed 0 with 0.1 the
    # run spent 8,500 steps on at most 18 modes and ended with 25 at 53.2% high quality (65.0% at 16,000
    # steps); with 1 it had 23 by step 6,000 and ended with 25 at 82.4%. On ring8 the weight 1 gave 90.1%
    # against 0.1's 96.2% (seed 0). Seeds 0-9 with 1: 24-25 of 25 modes at 54.7-86.9% (no published row; short
    # of the toy gan's 90%). benchmarks/toy_modes.py --model wgan-gp; docs/trainers.md.
    ("wgan-gp", "grid25"): dict(gp_lambda=1.0),
}

"""Reference GAN, autoencoder and likelihood-model trainers on one shared training loop, and the generators
they produce.

    from genmetrics.trainers import train, load_generator
    train("dcgan", "digits", "runs/digits")                  # run folder: config, checkpoints, samples
    g = load_generator("runs/digits")                         # callable z -> images in [-1, 1]
    images, _ = g.sample(1000, seed=0)

Families (one file each, defaults cited there): gan, dcgan, lsgan, wgan, wgan-gp, acgan, unrolled, cgan, sgan,
infogan, ebgan, began, progan; aae; the likelihood models vae, nade, pixelcnn (likelihood.py; test NLL in
nll.py); the translation models pix2pix, cyclegan, discogan, stargan (translation.py; translate.py,
translation_eval.py); the text-to-image stackgan (captions.py, caption_eval.py).
"""
from .base import FAMILIES, Family
from .families import get_family
from .config import TrainConfig
from .data import open_training_data
from .generator import LoadedGenerator, load_generator, sample_noise, write_samples
from .loop import TrainingInterrupted, TrainResult, prepare, train

MODELS = tuple(sorted(FAMILIES))  # every registered family (trainers/families.py imports them all)

__all__ = ["FAMILIES", "MODELS", "Family", "LoadedGenerator", "TrainConfig", "TrainResult", "TrainingInterrupted",
           "get_family", "load_generator", "open_training_data", "prepare", "sample_noise", "train",
           "write_samples"]

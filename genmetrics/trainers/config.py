"""The training configuration: one frozen record, saved in config.json and inside every checkpoint.

Resolution order (later wins): ``COMMON[kind]`` (kind = "image" or "toy") -> the family's
``image_defaults`` / ``toy_defaults`` (published values, cited in each family file) -> the dataset's
practical defaults (``DATASET_DEFAULTS``: run length, resolution) -> settings measured for one model on one
dataset (``TUNED_DEFAULTS``, each with its benchmark) -> the user's options; the tables are in presets.py.
``--dry-run`` prints the result.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from .._version import __version__
from ..errors import GenmetricsError
from .base import FAMILIES, Family
from .families import get_family
from .presets import COMMON, DATASET_DEFAULTS, TUNED_DEFAULTS


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run (and so the weights it ends at)."""

    model: str
    data: str
    out: str
    kind: str = "image"                # "image" or "toy" (2-D points)
    steps: int = 0                     # generator updates
    epochs: float | None = None        # if given, steps = ceil(epochs * n_train / (batch_size * n_critic))
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    data_root: str | None = None
    image_size: int | None = None
    native_size: int = 0               # networks work at this side, resampled to/from image_size (nets.py); 0: off
    channels: int | None = None
    num_classes: int | None = None     # classes G is conditioned on (acgan, cgan; infogan's categorical code)
    data_classes: int | None = None    # classes of the data's labels (sgan's classifier, family measures)
    n_train: int | None = None
    z_dim: int = 100
    g_width: int = 64                  # conv: channels of the last generator block; mlp: hidden units
    d_width: int = 64
    g_depth: int = 2                   # mlp only: hidden layers
    d_depth: int = 2
    g_batchnorm: bool = True
    d_norm: str = "batch"              # "batch" or "none"
    d_activation: str = "leakyrelu"    # "leakyrelu", "relu" or "maxout"
    maxout_pieces: int = 5
    init_std: float = 0.02             # N(0, std) init (Radford 2015, Sec. 4); 0: PyTorch's default init
    optimizer: str = "adam"            # "adam" or "rmsprop"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay: str = "none"             # "none", "linear" (to 0 at the last step) or "half-linear" (over the 2nd half)
    g_ema: float = 0.0                 # decay of G's moving average, which samples come from (ema.py); 0: off
    n_critic: int = 1                  # discriminator updates per generator update
    pack: int = 1                      # PacGAN packing: D judges groups of `pack` samples (Lin et al. 2018)
    clip_value: float | None = None    # wgan weight clipping
    gp_lambda: float | None = None     # wgan-gp gradient penalty weight
    r1_gamma: float = 0.0              # R1 penalty on real data (Mescheder et al. 2018; families: check_config)
    unroll_steps: int | None = None    # unrolled: discriminator steps unrolled into the generator loss
    labels: int | None = None          # sgan: labelled training examples kept (balanced over the classes)
    info_categories: int | None = None  # infogan: size of the categorical code
    info_continuous: int | None = None  # infogan: continuous codes, Unif(-1, 1)
    info_lambda: float | None = None   # infogan: weight of the mutual-information term
    margin: float | None = None        # ebgan: the hinge margin m on the fakes' energy
    pt_weight: float | None = None     # ebgan: weight of the pull-away term
    ae_code: int | None = None         # ebgan/began: the autoencoder discriminator's embedding size
    began_gamma: float | None = None   # began: the diversity ratio gamma = E L(G(z)) / E L(x)
    lambda_k: float | None = None      # began: learning rate of k_t
    drift: float | None = None         # progan: weight of the drift term E[D(x)^2]
    phase_images: int | None = None    # progan: images per fade-in and per stabilisation phase
    l1_lambda: float | None = None     # pix2pix: weight of the L1 distance to the target
    cycle_lambda: float | None = None  # cyclegan: weight of the cycle-consistency L1 (stargan: rec_lambda)
    identity_lambda: float | None = None  # cyclegan: identity weight, as a fraction of cycle_lambda
    pool_size: int | None = None       # cyclegan: the history buffer of generated images
    cls_lambda: float | None = None    # stargan: weight of the domain classification loss
    d_layers: int | None = None        # translation: strided layers of the PatchGAN discriminator
    g_blocks: int | None = None        # translation: residual blocks of the ResNet generator; stackgan: Stage II's
    kl_lambda: float | None = None     # stackgan: weight of conditioning augmentation's KL term
    stage1_fraction: float | None = None  # stackgan: the share of the steps that trains Stage I (Stage II after)
    stage1_size: int | None = None     # stackgan: Stage I's image side
    condition_dim: int | None = None   # stackgan: entries of the conditioning vector c
    eval_every: int = 0                # 0: no evaluation while training
    stop_patience: int = 0             # end the run after N evaluations without improvement; 0: off
    stop_metric: str | None = None     # the tracked metric (stopping.py); None: the family's or the leading one
    eval_n: int = 2000
    eval_ref: str | None = None        # folder or statistics npz; None: the training data
    weights: str | None = None         # FID Inception weights file for evaluation
    sample_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 50
    version: str = __version__

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# What --resume may change; everything else must match the stored run (it determines the weights).
RESUMABLE = ("steps", "epochs", "device", "eval_every", "stop_patience", "eval_n", "eval_ref", "weights", "sample_every",
             "checkpoint_every", "log_every")
CHOICES = {"kind": ("image", "toy"), "d_norm": ("batch", "none"),
           "d_activation": ("leakyrelu", "relu", "maxout"), "optimizer": ("adam", "rmsprop"),
           "lr_decay": ("none", "linear", "half-linear")}


def collect_overrides(options: dict, lr: float | None = None, settings=()) -> dict:
    """Overrides of the model's defaults: the given ``options`` (None: not given), ``lr`` for both learning
    rates, and ``--set KEY=VALUE`` texts."""
    overrides = {k: v for k, v in options.items() if v is not None}
    if lr is not None:
        overrides.update(lr_g=lr, lr_d=lr)
    overrides.update(parse_setting(text) for text in settings)
    return overrides


def parse_setting(text: str) -> tuple[str, object]:
    """``"key=value"`` from ``--set`` -> (key, value typed like the TrainConfig field)."""
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    types = {f.name: f.type for f in fields(TrainConfig)}
    if not sep or key not in types:
        raise GenmetricsError(f"--set {text!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(types))}")
    raw = raw.strip()
    if raw.lower() in ("none", "null"):
        if raw.lower() in CHOICES.get(key, ()):  # d_norm=none: a choice (no normalisation), not "unset"
            return key, raw.lower()
        return key, None
    kind = str(types[key])

    try:
        if kind.startswith("bool"):
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return key, raw.lower() in ("true", "1")
        if kind.startswith("int"):
            return key, int(raw)
        if kind.startswith("float"):
            return key, float(raw)
    except ValueError:
        raise GenmetricsError(f"--set {text!r}: {key} needs a {kind.split(' ')[0]} value") from None
    return key, raw


def resolve_config(model: str, data, out: str | Path, overrides: dict) -> TrainConfig:
    """The full configuration for ``model`` on the opened training data ``data`` (see data.py).

    ``overrides``: TrainConfig fields the user set (None values are ignored).
    """
    family = get_family(model)
    values = dict(COMMON[data.kind])
    values.update(family.toy_defaults if data.kind == "toy" else family.image_defaults)
    values.update(DATASET_DEFAULTS.get(data.name, {}))
    values.update(TUNED_DEFAULTS.get((model, data.name), {}))
    values.update(getattr(data, "defaults", {}))  # a translation family's run length on the bundled digits
    user = {k: v for k, v in overrides.items() if v is not None}
    if "steps" in user and "epochs" in user:
        raise GenmetricsError("give --steps or --epochs, not both")
    if "steps" in user:
        values["epochs"] = None
    if "epochs" in user:
        values.pop("steps", None)
    values.update(user)
    values.update(model=model, data=data.name, out=str(out), kind=data.kind, image_size=data.image_size,
                  channels=data.channels, num_classes=family.generator_classes(values, data),
                  data_classes=data.num_classes, n_train=data.n_train)
    from .translation_data import check_translation

    check_translation(family, data)
    if data.kind not in family.data_kinds:
        what = "2-D points" if data.kind == "toy" else "images"
        raise GenmetricsError(f"--data {data.name}: {model} does not train on {what}; give "
                              f"{'an image data set (e.g. digits-binary)' if data.kind == 'toy' else 'toy data'}")
    if family.conditional and not data.num_classes:
        raise GenmetricsError(f"--data {data.name}: {model} needs class labels; give a folder with one "
                              f"subfolder per class, a labelled dataset (digits, mnist, ...) or toy data")
    if values.get("epochs") is not None:
        if data.kind == "toy":
            raise GenmetricsError("toy data is drawn fresh every step and has no epochs: use --steps")
        batches = values["epochs"] * data.n_train / values.get("batch_size", TrainConfig.batch_size)
        values["steps"] = max(1, math.ceil(batches / values.get("n_critic", 1)))
    config = TrainConfig.from_dict(values)
    check_config(config)
    return config


def _takes_r1(family: Family) -> bool:
    """Whether the family's D would train with Family.discriminator_loss, the loss that adds the R1 penalty
    (a family without a discriminator says so itself, in its check)."""
    return type(family).discriminator_loss is Family.discriminator_loss


def check_config(config: TrainConfig) -> None:
    """GenmetricsError for impossible values, naming the option."""
    for name in ("steps", "batch_size", "z_dim", "g_width", "d_width", "n_critic", "pack", "eval_n", "log_every"):
        if getattr(config, name) < 1:
            raise GenmetricsError(f"{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    for name in ("eval_every", "sample_every", "checkpoint_every"):
        if getattr(config, name) < 0:
            raise GenmetricsError(f"--{name.replace('_', '-')} must be 0 (off) or positive")
    for name, allowed in CHOICES.items():
        if getattr(config, name) not in allowed:
            raise GenmetricsError(f"{name} must be one of {', '.join(allowed)}, got {getattr(config, name)!r}")
    if config.lr_g <= 0 or config.lr_d <= 0:
        raise GenmetricsError("learning rates must be positive")
    if not 0 <= config.g_ema < 1:
        raise GenmetricsError(f"g_ema {config.g_ema}: the moving average's decay must be in [0, 1) "
                              f"(--set g_ema=0.999; 0: sample from the trained generator)")
    if config.native_size and not (config.kind == "image" and 4 <= config.native_size <= config.image_size):
        raise GenmetricsError(f"native_size {config.native_size}: the networks' side must be between 4 and the "
                              f"image size ({config.image_size}), for image data; --set native_size=0 for "
                              f"networks at the image size")
    if config.batch_size % config.pack:
        raise GenmetricsError(f"batch_size {config.batch_size} must be a multiple of pack {config.pack}")
    if config.pack > 1 and config.num_classes:
        raise GenmetricsError("pack > 1 cannot be combined with a class-conditional model (acgan)")
    family = get_family(config.model)
    if config.r1_gamma and not _takes_r1(family):
        takers = sorted(name for name, other in FAMILIES.items() if other.adversarial and _takes_r1(other))
        raise GenmetricsError(f"r1_gamma applies to {', '.join(takers)} (their discriminator loss takes the "
                              f"penalty), not to {config.model}")
    family.check(config)
    from .stopping import check_stopping

    check_stopping(config, family)


def resume_config(stored: dict, overrides: dict) -> TrainConfig:
    """The stored configuration with the options --resume may change applied; others must match."""
    values = dict(stored)
    for key, value in overrides.items():
        if value is None or values.get(key) == value:
            continue
        if key not in RESUMABLE:
            raise GenmetricsError(f"--resume continues the stored run, whose {key} is {values.get(key)!r}; "
                                  f"drop the option (or start a new run in another --out)")
        values[key] = value
    if overrides.get("epochs") is not None:
        if values["kind"] == "toy":
            raise GenmetricsError("toy data is drawn fresh every step and has no epochs: use --steps")
        batches = overrides["epochs"] * values["n_train"] / values["batch_size"]
        values["steps"] = max(1, math.ceil(batches / values["n_critic"]))
    elif overrides.get("steps") is not None:
        values["epochs"] = None
    config = TrainConfig.from_dict(values)
    check_config(config)
    return config


def write_config(path: Path, config: TrainConfig) -> None:
    from .._io import atomic_write

    with atomic_write(path, "w") as handle:
        json.dump(config.to_dict(), handle, indent=2)
        handle.write("\n")

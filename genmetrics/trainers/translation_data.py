"""Image-to-image translation data: domains made offline from the bundled digits, or the user's folders.

A translation data spec is a comma-separated list of domains, ``--data digits,digits-thick`` (or, in the
CLI, ``--data-a DIR --data-b DIR``): domain A, domain B (and more for multi-domain models). A domain is
one of ``DOMAINS``, each made from scikit-learn's digits (``data.load_digits``, 32 px) by a fixed,
deterministic transform, or a folder of images.

Pairing (``Family.translation``):

- ``paired`` (pix2pix): image i of every domain shows the same source digit; user folders are matched by
  file name (a file missing from one folder is an error naming it).
- ``unpaired`` (CycleGAN, DiscoGAN) and ``multi`` (StarGAN): the training digits are shuffled once
  (``SPLIT_SEED``) and dealt into one disjoint part per domain, so no source digit appears in two domains
  and no pair is ever seen together; user folders are used as they are.

Evaluation (metrics/translation.py) uses the held-out splits: the test split's source digits in domain A
with their ground truth in domain B, and the validation split in domain B as the target-domain reference.
Batches are functions of (seed, batch number), as in data.py, so resumed runs see the same data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError
from .seeding import DATA, derive_generator

# tab10, matplotlib's default colour cycle (matplotlib._cm): one distinct colour per digit class.
TAB10 = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
         (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
SPLIT_SEED = 0  # the unpaired split is one fixed shuffle, whatever the run's --seed
TRANSLATION_KINDS = ("paired", "unpaired", "multi")


def _thick(x: torch.Tensor, labels) -> torch.Tensor:
    """Dilated strokes: a max filter of radius max(1, side / 32) (3x3 at 32 px: strokes 2 px wider)."""
    r = max(1, round(x.shape[-1] / 32))
    return F.max_pool2d(x.float(), 2 * r + 1, stride=1, padding=r).to(torch.uint8)


def _colour(x: torch.Tensor, labels) -> torch.Tensor:
    """The stroke drawn in its class's tab10 colour on black: rgb = grey / 255 * colour."""
    colours = torch.tensor(TAB10, dtype=torch.float32)[labels].view(-1, 3, 1, 1)
    return (x.float() / 255 * colours).round().to(torch.uint8)


DOMAINS = {
    "digits": lambda x, labels: x,
    "digits-inverted": lambda x, labels: 255 - x,
    "digits-thick": _thick,
    "digits-rot90": lambda x, labels: torch.rot90(x, 1, (2, 3)).contiguous(),  # a quarter turn anticlockwise
    "digits-colour": _colour,
}


def is_translation_spec(data: str | None) -> bool:
    return bool(data) and "," in data


def parse_spec(data: str) -> list[str]:
    domains = [d.strip() for d in data.split(",")]
    if len(domains) < 2 or not all(domains):
        raise GenmetricsError(f"--data {data!r}: give two or more domains separated by commas, e.g. "
                              f"digits,digits-thick (domains: {', '.join(DOMAINS)}, or folders)")
    if len(set(domains)) != len(domains):
        raise GenmetricsError(f"--data {data!r} names a domain twice")
    return domains


def make_domain(name: str, grey: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Domain ``name`` of grey uint8 digits (N, 1, H, W): uint8 (N, 1 or 3, H, W)."""
    if name not in DOMAINS:
        raise GenmetricsError(f"unknown domain {name!r}; choose from {', '.join(DOMAINS)} (or give a folder)")
    return DOMAINS[name](grey, labels)


def domain_split(name: str, split: str, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A bundled domain on the digits' ``split`` (train, valid, test): (uint8 images, digit labels)."""
    from .data import load_digits

    grey, labels = load_digits(size, split)
    return make_domain(name, grey, labels), labels


def unpaired_parts(n: int, k: int) -> list[torch.Tensor]:
    """Row indices of k disjoint parts of n shuffled items (one fixed shuffle, SPLIT_SEED)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return [order[i::k] for i in range(k)]


def _same_channels(sets: list[torch.Tensor]) -> list[torch.Tensor]:
    """Grey domains become RGB when another domain is colour, so that every domain has one channel count."""
    channels = max(s.shape[1] for s in sets)
    return [s.expand(-1, channels, -1, -1).contiguous() if s.shape[1] != channels else s for s in sets]


@dataclass
class TranslationData:
    """Translation training data: one uint8 (N_d, C, H, W) set per domain (labels when known)."""

    name: str
    domains: list[str]
    sets: list[torch.Tensor]
    labels: list[torch.Tensor | None]
    pairing: str                             # "paired", "unpaired" or "multi"
    kind: str = "image"
    defaults: dict = field(default_factory=dict)  # run-length settings for the bundled digits (the family's)
    dynamic: bool = False
    _perms: dict = field(default_factory=dict, repr=False)

    @property
    def n_train(self) -> int:
        return max(len(s) for s in self.sets)

    @property
    def image_size(self) -> int:
        return int(self.sets[0].shape[-1])

    @property
    def channels(self) -> int:
        return int(self.sets[0].shape[1])

    @property
    def num_classes(self) -> int | None:
        """Digit classes (for the class-conditional parts of the measures); None for user folders."""
        return 10 if all(lab is not None for lab in self.labels) else None

    @property
    def images(self) -> torch.Tensor:
        return self.sets[0]

    def _rows(self, seed: int, index: int, size: int, n: int, stream: int) -> torch.Tensor:
        positions = torch.arange(index * size, (index + 1) * size)
        epochs, offsets = positions // n, positions % n
        rows = torch.empty(size, dtype=torch.long)
        for epoch in epochs.unique().tolist():
            key = (seed, stream, epoch)
            if key not in self._perms:
                if len(self._perms) > 16:
                    self._perms.clear()
                self._perms[key] = torch.randperm(n, generator=derive_generator(seed, DATA, -2 - stream, epoch))
            chosen = epochs == epoch
            rows[chosen] = self._perms[key][offsets[chosen]]
        return rows

    def batch(self, seed: int, index: int, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Batch ``index``: the domains' images side by side along the channels, floats in [-1, 1]
        (N, K * C, H, W), and the digit labels (N, K) or None. Paired data draws the same rows from every
        domain; unpaired data draws each domain in its own order."""
        parts, labels = [], []
        for d, images in enumerate(self.sets):
            stream = 0 if self.pairing == "paired" else d
            rows = self._rows(seed, index, size, len(images), stream)
            parts.append(images[rows].float().div_(127.5).sub_(1.0))
            labels.append(None if self.labels[d] is None else self.labels[d][rows])
        known = all(lab is not None for lab in labels)
        return torch.cat(parts, dim=1), (torch.stack(labels, dim=1) if known else None)

    def order_state(self, seed: int, batches_drawn: int, batch_size: int) -> dict:
        return {"seed": seed, "batches_drawn": batches_drawn, "batch_size": batch_size,
                "epoch": batches_drawn * batch_size // self.n_train}


def split_domains(batch: torch.Tensor, k: int) -> list[torch.Tensor]:
    """The K domains' images of a ``TranslationData.batch``."""
    return list(batch.chunk(k, dim=1))


def open_data(data: str, data_root: str | None, image_size: int | None, model: str | None):
    """``--data`` for ``model``: translation domains ``A,B[,...]`` (open_for_model), else data.open_training_data
    (captioned digits: captions.open_data, which calls this)."""
    from .data import open_training_data

    if "," in data:
        return open_for_model(data, image_size, model)
    return open_training_data(data, data_root, image_size)


def export(name: str, out, *, unpaired: bool = False, **options) -> dict:
    """``genmetrics data``: translation domains (export_domains), else export.export_data."""
    from .export import export_data

    if name != "digits" and (name in DOMAINS or "," in name):
        options.pop("seed", None), options.pop("data_root", None)
        return export_domains(name, out, unpaired=unpaired, **options)
    if unpaired:
        raise GenmetricsError(f"--unpaired: {name} is not translation domains (e.g. digits,digits-thick)")
    return export_data(name, out, **options)


def open_for_model(data: str, image_size: int | None, model: str | None) -> TranslationData:
    """Open a translation spec for ``model``, which must be a translation family (its pairing decides how)."""
    from .base import lookup_family

    family = lookup_family(model) if model else None
    if family is None or not family.translation:
        raise GenmetricsError(f"--data {data}: two domains are translation data, for pix2pix, cyclegan, discogan "
                              f"or stargan{'; ' + model + ' trains on one data set' if model else ''}")
    return open_translation_data(data, image_size, family.translation, family.digits_defaults)


def check_translation(family, data) -> None:
    """A translation family needs translation data (and the others refuse it in open_for_model)."""
    if family.translation and not isinstance(data, TranslationData):
        raise GenmetricsError(f"--data {data.name}: {family.name} translates between domains; give two, e.g. "
                              f"--data digits,digits-thick (or --data-a DIR --data-b DIR)")


def open_translation_data(data: str, image_size: int | None, pairing: str, family_defaults: dict | None = None
                          ) -> TranslationData:
    """Open a translation spec (see the module docstring) for a family of ``pairing``."""
    domains = parse_spec(data)
    if pairing == "paired" and len(domains) != 2:
        raise GenmetricsError(f"--data {data}: a paired model translates one domain into one other; give two")
    bundled = [d in DOMAINS for d in domains]
    if any(bundled) and not all(bundled):
        raise GenmetricsError(f"--data {data}: mix of bundled domains and folders; give domains of one kind")
    if all(bundled):
        from .data import load_digits

        grey, labels = load_digits(image_size or 32, "train")
        parts = ([torch.arange(len(grey))] * len(domains) if pairing == "paired"
                 else unpaired_parts(len(grey), len(domains)))
        sets = _same_channels([make_domain(d, grey[rows], labels[rows]) for d, rows in zip(domains, parts)])
        return TranslationData(data, domains, sets, [labels[rows] for rows in parts], pairing,
                               defaults=dict(family_defaults or {}))
    from .translation_folders import load_folders

    sets = load_folders([Path(d).expanduser() for d in domains], image_size, pairing == "paired", tuple(DOMAINS))
    sizes = {s.shape[-1] for s in sets}
    if len(sizes) > 1:
        raise GenmetricsError(f"--data {data}: the domains' images have different sizes {sorted(sizes)}; "
                              f"pass --image-size")
    return TranslationData(data, domains, _same_channels(sets), [None] * len(sets), pairing)


def export_domains(spec: str, out: str | Path, *, split: str = "test", image_size: int | None = None,
                   n: int | None = None, unpaired: bool = False, force: bool = False) -> dict:
    """``genmetrics data``: one bundled domain (``digits-thick``) of a digits split to a folder or .npz (with
    labels), or several (``digits,digits-thick``) to OUT/<domain>/NNNNNN.png, paired by file name (or, with
    ``unpaired``, each domain from its own disjoint part of the split)."""
    from ..data.writers import check_new_folder, save_images

    out = Path(out)
    domains = parse_spec(spec) if "," in spec else [spec]
    for d in domains:
        make_domain(d, torch.zeros(0, 1, 1, 1, dtype=torch.uint8), torch.zeros(0, dtype=torch.long))  # names
    if len(domains) > 1 and out.suffix.lower() in (".npz", ".npy"):
        raise GenmetricsError(f"-o {out}: several domains are written to a folder (one subfolder per domain)")
    check_new_folder(out, force)
    from .data import load_digits

    grey, labels = load_digits(image_size or 32, split)
    parts = unpaired_parts(len(grey), len(domains)) if unpaired else [torch.arange(len(grey))] * len(domains)
    parts = [rows[:n] for rows in parts]
    written = []
    for d, rows in zip(domains, parts):
        images = make_domain(d, grey[rows], labels[rows]).permute(0, 2, 3, 1).numpy()
        target = out if len(domains) == 1 else out / d
        if unpaired:  # named by the source digit's index in the split: no two domains share a name (nor a digit)
            from ..data.writers import save_png

            target.mkdir(parents=True, exist_ok=True)
            for row, image in zip(rows.tolist(), images):
                save_png(target / f"{row:06d}.png", image)
            fmt = "png"
        else:
            fmt = save_images(target, images, labels[rows].numpy())
        written.append({"domain": d, "output": str(target), "n": len(images)})
    return {"data": spec, "split": split, "output": str(out), "n": sum(w["n"] for w in written), "format": fmt,
            "paired": len(domains) > 1 and not unpaired, "domains": written, "image_size": int(grey.shape[-1])}

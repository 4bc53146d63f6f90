"""Captioned digits for text-to-image models (``--data digits-captions``) and their fixed text encoder.

Captions are made offline from templates over each digit's class and two attributes taken from the
translation domains (translation_data.DOMAINS): thickness (``thin``: the digit as it is, ``digits``;
``thick``: its strokes dilated, ``digits-thick``) and inversion (``inverted``: 255 - x, ``digits-inverted``,
said only when true). Three templates phrase the same facts:

    "a thick seven"   "a thin inverted two"            (template 0)
    "an eight with thin strokes"   "an inverted two with thick strokes"   (template 1)
    "the digit seven, thick"   "the digit two, thin, inverted"            (template 2)

Data: every training digit (data.DIGITS_SPLITS, 1,497) in all four (thickness, inversion) variants, 5,988
images at 32 px, each with a template drawn once with ``CAPTION_SEED`` (the same whatever the run's seed).
A batch's labels are (N, 4) integers: class, thick, inverted, template. The held-out splits
(``captioned_split``) are made the same way from the validation and test digits.

Text encoder: a fixed bag of words over ``VOCABULARY``, the count of each vocabulary word in the caption
(``embed``). StackGAN embeds captions with a pretrained char-CNN-RNN (Reed et al. 2016, as Zhang et
al. 2017), whose weights cannot be downloaded here; over a closed template vocabulary a bag of words
is exact: two captions get the same vector only when they use the same words, and each template's
words say the class and both attributes. Word order is ignored; an unknown word is an error that lists
the vocabulary.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from ..errors import GenmetricsError
from .data import TrainData
from .translation_data import DOMAINS

CAPTION_DATA = "digits-captions"
CAPTION_SEED = 0  # the templates are one fixed draw, whatever the run's --seed (as translation_data.SPLIT_SEED)
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = ("thin", "thick")
INVERTED_WORD = "inverted"
TEMPLATES = ("a {thickness} {inverted}{digit}", "{article} {inverted}{digit} with {thickness} strokes",
             "the digit {digit}, {thickness}{inverted}")
CAPTION_COMBOS = len(DIGIT_WORDS) * 2 * 2  # (class, thickness, inversion): the captions a sample is drawn from
VOCABULARY = ("a", "an", "the", "digit", "with", "strokes", *THICKNESS_WORDS, INVERTED_WORD, *DIGIT_WORDS)
# Punctuation between words is ignored; every other run of characters is a word.
_WORD = re.compile(r"[^\s,.;:!?]+")


def render(digit: int, thick: int, inverted: int, template: int = 0) -> str:
    """The caption of one digit class and attributes in ``TEMPLATES[template]``."""
    digit_word, thickness = DIGIT_WORDS[digit], THICKNESS_WORDS[thick]
    if template == 2:
        return TEMPLATES[2].format(digit=digit_word, thickness=thickness, inverted=", inverted" if inverted else "")
    first = INVERTED_WORD if inverted else digit_word
    return TEMPLATES[template].format(thickness=thickness, digit=digit_word, inverted="inverted " if inverted else "",
                                      article="an" if first[0] in "aeiou" else "a")


def tokens(text: str) -> list[str]:
    """The caption's words, lower-cased; GenmetricsError naming the first word outside ``VOCABULARY``."""
    words = _WORD.findall(str(text).lower())
    for word in words:
        if word not in VOCABULARY:
            raise GenmetricsError(f"--caption {text!r}: unknown word {word!r}; captions use the words "
                                  f"{', '.join(VOCABULARY)} (e.g. \"a thick seven\", \"a thin inverted two\")")
    return words


def embed(text: str) -> torch.Tensor:
    """The bag-of-words embedding of one caption: float32 (len(VOCABULARY),), the count of each word."""
    vector = torch.zeros(len(VOCABULARY))
    for word in tokens(text):
        vector[VOCABULARY.index(word)] += 1
    return vector


def parse_caption(text: str) -> tuple[int, int, int]:
    """(digit class, thick 0/1, inverted 0/1) that ``text`` says; GenmetricsError unless it names exactly one
    digit and one thickness (``inverted`` is optional)."""
    words = tokens(text)
    digits = [DIGIT_WORDS.index(w) for w in words if w in DIGIT_WORDS]
    thickness = [THICKNESS_WORDS.index(w) for w in words if w in THICKNESS_WORDS]
    if len(digits) != 1 or len(thickness) != 1 or words.count(INVERTED_WORD) > 1:
        raise GenmetricsError(f"--caption {text!r}: a caption names one digit ({', '.join(DIGIT_WORDS)}) and one "
                              f"thickness (thin or thick), and may say inverted, e.g. \"a thick seven\" or "
                              f"\"a thin inverted two\"")
    return digits[0], thickness[0], int(INVERTED_WORD in words)


def embedding_table() -> torch.Tensor:
    """Every template caption's embedding: float32 (10, 2, 2, len(TEMPLATES), len(VOCABULARY)), indexed by
    (class, thick, inverted, template) as a batch's labels are."""
    return torch.stack([torch.stack([torch.stack([torch.stack([embed(render(d, t, i, k)) for k in range(len(TEMPLATES))])
                                                  for i in range(2)]) for t in range(2)]) for d in range(10)])


def embed_labels(labels: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
    """(N, 4) labels (class, thick, inverted, template) -> (N, len(VOCABULARY)) embeddings."""
    table = embedding_table() if table is None else table
    labels = labels.long().cpu()
    return table[labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3]]


def caption_condition(caption: str | None, drawn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(digit classes (N,), embeddings (N, len(VOCABULARY))) for sampling: ``caption`` for every sample, or
    without one each sample's drawn caption ``drawn`` (N,) in 0..CAPTION_COMBOS - 1: class d // 4, thick
    (d // 2) % 2, inverted d % 2, in template 0."""
    if caption is not None:
        digit = parse_caption(caption)[0]
        return torch.full((len(drawn),), digit, dtype=torch.long), embed(caption).expand(len(drawn), -1)
    drawn = drawn.long()
    labels = torch.stack([drawn // 4, (drawn // 2) % 2, drawn % 2, torch.zeros_like(drawn)], dim=1)
    return labels[:, 0], embed_labels(labels)


def variants(grey: torch.Tensor, classes: torch.Tensor, seed: int = CAPTION_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """Every digit in its four variants, (uint8 (4N, 1, H, W), labels (4N, 4)): rows thin, thick, thin
    inverted, thick inverted (each block in the digits' order), templates drawn with ``seed``."""
    thick = DOMAINS["digits-thick"](grey, classes)
    images = torch.cat([grey, thick, 255 - grey, 255 - thick])
    n = len(grey)
    attributes = torch.tensor([(0, 0), (1, 0), (0, 1), (1, 1)]).repeat_interleave(n, dim=0)
    templates = torch.randint(len(TEMPLATES), (4 * n,), generator=torch.Generator().manual_seed(seed))
    return images, torch.cat([classes.repeat(4)[:, None], attributes, templates[:, None]], dim=1)


def captioned_split(split: str = "test", size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A digits split (train, valid, test) captioned: (uint8 images (4N, 1, size, size), labels (4N, 4))."""
    from .data import load_digits

    grey, classes = load_digits(size, split)
    return variants(grey, classes)


@dataclass
class CaptionData(TrainData):
    """``--data digits-captions``: TrainData whose labels are (N, 4): class, thick, inverted, template."""

    defaults: dict = field(default_factory=dict)  # the text-to-image family's run length on these digits


def open_caption_data(image_size: int | None, model: str | None) -> CaptionData:
    """``--data digits-captions`` for ``model``, which must be a text-to-image family (stackgan)."""
    from .base import lookup_family

    family = lookup_family(model) if model else None
    if family is None or not getattr(family, "captioned", False):
        raise GenmetricsError(f"--data {CAPTION_DATA}: captioned digits train text-to-image models (stackgan); "
                              f"{'for ' + model + ' ' if model else ''}use --data digits")
    size = image_size or 32
    images, labels = captioned_split("train", size)
    return CaptionData(CAPTION_DATA, "image", images, labels, 10, defaults=dict(family.digits_defaults))


def open_data(data: str, data_root: str | None, image_size: int | None, model: str | None):
    """``--data`` for ``model``: ``digits-captions`` (open_caption_data), else translation_data.open_data
    (translation domains ``A,B``, then data.open_training_data)."""
    from . import translation_data

    if data == CAPTION_DATA:
        return open_caption_data(image_size, model)
    return translation_data.open_data(data, data_root, image_size, model)


def export(name: str, out, **options) -> dict:
    """``genmetrics data``: ``digits-captions`` (export_captions), else translation_data.export."""
    from . import translation_data

    if name == CAPTION_DATA:
        for unused in ("seed", "data_root", "unpaired"):
            options.pop(unused, None)
        return export_captions(out, **options)
    return translation_data.export(name, out, **options)


def export_captions(out, *, split: str = "train", image_size: int | None = None, n: int | None = None,
                    force: bool = False) -> dict:
    """The captioned digits of ``split`` (the first ``n``) to a .npz (``images`` uint8 NHWC, ``labels`` the
    digit classes, ``attributes`` (N, 4): class, thick, inverted, template; ``captions`` the texts) or to a
    folder of PNGs with ``captions.txt`` (one "file<TAB>caption" line per image)."""
    from pathlib import Path

    import numpy as np

    from .._io import atomic_write
    from ..data.writers import check_new_folder, save_images

    out = Path(out)
    if out.suffix.lower() == ".npy":
        raise GenmetricsError(f"-o {out}: captioned digits keep their captions in a .npz or a folder, not a .npy")
    check_new_folder(out, force)
    images, labels = captioned_split(split, image_size or 32)
    images, labels = images[:n].permute(0, 2, 3, 1).numpy(), labels[:n]
    texts = [render(*row) for row in labels.tolist()]
    if out.suffix.lower() == ".npz":
        with atomic_write(out) as handle:
            np.savez(handle, images=images, labels=labels[:, 0].numpy(), attributes=labels.numpy(),
                     captions=np.array(texts))
        fmt = "npz uint8 NHWC with captions"
    else:
        fmt = save_images(out, images)
        with atomic_write(out / "captions.txt", "w") as handle:
            handle.write("".join(f"{i:06d}.png\t{text}\n" for i, text in enumerate(texts)))
        fmt += " with captions.txt"
    return {"data": CAPTION_DATA, "split": split, "output": str(out), "n": len(images), "format": fmt,
            "image_size": int(images.shape[1])}

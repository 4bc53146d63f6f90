"""Class coverage: which classes a classifier finds among generated images, and how evenly.

From the logits of the digits classifier (``--extractor digits``: 10 classes) or of stacked digits
(``--extractor stacked-digits``: 1,000 modes, one digit per RGB channel), each image counts for its
argmax class. Reported:

- ``classes_covered``: the classes with at least one image, out of ``n_classes``. At least one is the
  stacked-MNIST protocol of VEEGAN (Srivastava et al. 2017, section 5.2) and PacGAN (Lin et al. 2018,
  section 5; fjxmlzn/PacGAN stacked_MNIST_experiments model.py log_metrics: the number of distinct
  argmax triples of 26,000 samples). It depends on n: a class seen once among 10,000 images counts, so
  ``rarest_share`` (the smallest share of a class, 0 when one is missing) is reported beside it.
- ``class_kl``: KL(histogram || uniform) in nats, sum_k p_k ln(K p_k) over the classes with p_k > 0, as
  PacGAN's ``KLD(p, q)`` with q uniform over the 1,000 modes (natural logarithm): 0 when every class is
  equally frequent, ln K when every image is one class.
- ``confident_fraction``: the share of images whose largest softmax probability is at least
  ``CONFIDENT`` (0.9): a proxy for how recognisable the samples are (real held-out digits: see the
  README), not a measure from a paper.
- the ``class_histogram`` (counts per class) as a detail, with ``n`` and ``n_classes``.

It is not offered by default in ``genmetrics eval`` (ask for it with ``--metrics class_coverage``) nor by
the trainers, which score their samples with the Inception network, whose 1,008 ImageNet logits are not
digit classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from .._version import __version__
from ..errors import GenmetricsError
from .registry import GENERATED_LOGITS, Key, register_metric
from .result import MetricResult

# The confidence threshold of issue 11's recognisability measurement (a digit counts as recognised at
# p >= 0.9); a convention, not a paper's constant.
CONFIDENT = 0.9


@dataclass
class ClassCoverage(MetricResult):
    classes_covered: int
    class_kl: float
    confident_fraction: float
    rarest_share: float
    class_histogram: list
    n: int
    n_classes: int
    confident: float = CONFIDENT
    version: str = __version__

    PROTOCOL = ("n", "n_classes", "confident", "version")


def class_coverage_from_logits(logits, confident: float = CONFIDENT) -> ClassCoverage:
    """Class coverage of ``logits`` (N, K): see the module docstring."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[0] < 1 or logits.shape[1] < 2:
        raise GenmetricsError(f"class coverage needs (N, classes) logits of at least one image and two classes, "
                              f"got shape {logits.shape}")
    if not 0 < confident <= 1:
        raise GenmetricsError(f"the confidence threshold must be in (0, 1], got {confident}")
    n, k = logits.shape
    counts = np.bincount(logits.argmax(axis=1), minlength=k)
    p = counts / n
    present = p > 0
    kl = float(np.sum(p[present] * np.log(p[present] * k)))
    top = softmax(logits, axis=1).max(axis=1)
    return ClassCoverage(int(present.sum()), max(kl, 0.0), float(np.mean(top >= confident)), float(p.min()),
                         counts.tolist(), n, k, confident)


def _refuse_inception(generated) -> None:
    protocol = getattr(generated, "protocol", None) or {}
    if protocol.get("extractor") == "inception":
        raise GenmetricsError("class coverage counts the classes of the digits classifier: pass --extractor digits "
                              "(10 digit classes) or --extractor stacked-digits (1,000 modes); the Inception "
                              "network's 1,008 logits are ImageNet classes")


def _class_coverage_of(inputs) -> dict:
    """The registry's compute function: class coverage of the generated logits."""
    _refuse_inception(inputs.generated)
    return class_coverage_from_logits(inputs.generated_logits).to_dict()


register_metric(
    "class_coverage",
    [Key("classes_covered", True, "classes covered (at least one image)", short="classes"),
     Key("class_kl", False, "KL of the class histogram to uniform (nats)", short="class KL"),
     Key("confident_fraction", True, "share classified with p >= 0.9", short="confident"),
     Key("rarest_share", None, "share of the rarest class", column=False)],
    {GENERATED_LOGITS}, _class_coverage_of,
    rank_by=("classes_covered", "class_kl"),
    not_applicable={"train": "the trainers score samples with the Inception network, whose logits are ImageNet "
                             "classes, not digits"},
    default=False,
    note="with --extractor digits or stacked-digits")

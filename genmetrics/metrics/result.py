"""One result type for every public metric call: ``to_dict()`` for JSON and ``protocol`` for how it was made.

Each result is a dataclass over ``MetricResult``. ``to_dict()`` gives its fields (the CLI's JSON keys);
``protocol`` the subset of them that says how the number was made (sample counts, splits, k, subsets,
resize mode, weights hash, version), named by the class's ``PROTOCOL`` tuple, so that a number can be
reported with what it depends on.

Two results keep the older call forms working: ``KIDResult`` unpacks and indexes as the former
``(mean, std, subset_size)`` tuple, and ``PRDCResult`` reads like the former dict (``result["precision"]``,
``dict(result)``, equality with a dict of the four values).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .._version import __version__


class MetricResult:
    """The base of every metric's result dataclass."""

    PROTOCOL: tuple[str, ...] = ()  # the fields that record how the value was made

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def protocol(self) -> dict:
        return {name: getattr(self, name) for name in self.PROTOCOL}


@dataclass
class KIDResult(MetricResult):
    """KID (Binkowski et al. 2018): the mean and standard deviation of MMD^2 over random subsets.

    ``kid_std`` is None when every subset is the whole of both sets (no spread to report). Iterating or
    indexing gives the former tuple ``(kid, kid_std, subset_size)``.
    """

    kid: float
    kid_std: float | None
    subset_size: int
    subsets: int
    seed: int
    version: str = __version__
    kernel: str = "poly"  # the KID kernel and its parameters (metrics/kid.py kernel_matrix)
    kernel_params: dict | None = None

    PROTOCOL = ("subset_size", "subsets", "seed", "kernel", "kernel_params", "version")

    def _legacy(self) -> tuple:
        return (self.kid, self.kid_std, self.subset_size)

    def __iter__(self):
        return iter(self._legacy())

    def __getitem__(self, index):
        return self._legacy()[index]

    def __len__(self) -> int:
        return 3

    def __float__(self) -> float:
        return self.kid


PRDC_KEYS = ("precision", "recall", "density", "coverage")


@dataclass(eq=False)
class PRDCResult(MetricResult, Mapping):
    """Precision and recall (k = ``pr_k``), density and coverage (k = ``dc_k``).

    A read-only mapping of the four values, as the former dict: ``result["precision"]``, ``dict(result)``
    and ``result == {"precision": ..., ...}`` work; ``to_dict()`` adds the k's and the version.
    """

    precision: float
    recall: float
    density: float
    coverage: float
    pr_k: int
    dc_k: int
    version: str = __version__

    PROTOCOL = ("pr_k", "dc_k", "version")

    def __getitem__(self, key: str) -> float:
        if key not in PRDC_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(PRDC_KEYS)

    def __len__(self) -> int:
        return len(PRDC_KEYS)

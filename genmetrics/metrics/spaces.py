"""Which feature pass each metric of one ``genmetrics eval`` call reads: the call's extractor, or its own space.

FID, KID, precision/recall ... are computed in the call's feature space (``--extractor``, ``--resize``,
``--dims``); FD_DINOv2, CMMD and sFID are defined in one space each (``registry.FeatureSpace``), so that
``--metrics fid,fd_dinov2,cmmd,sfid`` gives each number as its reference computes it, from one call, as
EDM2's calculate_metrics.py reports FID and FD_DINOv2 side by side. Each distinct space is extracted once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .registry import FeatureSpace, get_metric

_OWN_WEIGHTS = ("extractor_weights", "extractor_size", "extractor_input")


@dataclass
class FeatureGroup:
    """Metrics computed from one feature pass: their names, the extraction options and Inception dims."""

    names: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    dims: int | str = DEFAULTS.dims
    space: FeatureSpace | None = None  # None: the call's own extractor


def feature_groups(names, options: dict, dims) -> list[FeatureGroup]:
    """The feature passes ``names`` need, in first-use order; metrics sharing a pass share a group.

    A metric's own space uses the call's ``resize`` and extractor weights only when the call's extractor
    is that space's extractor (``--extractor dinov2-vit-l14 --resize edm2`` gives edm2's FD_DINOv2);
    otherwise the space's resize and its extractor's weights rules (environment variable, cache, download).
    """
    call_extractor = options.get("extractor") or DEFAULTS.extractor
    groups: dict = {}
    for name in names:
        space = get_metric(name).features
        key, group_options, group_dims = ("call",), options, dims
        if space is not None:
            own = space.extractor == call_extractor
            group_options = {**options, "extractor": space.extractor,
                             "resize": (options.get("resize") if own else None) or space.resize}
            if not own:
                for option in _OWN_WEIGHTS:
                    group_options.pop(option, None)
            group_dims = space.dims or (dims if own else DEFAULTS.dims)
            if not (own and group_options["resize"] == options.get("resize") and group_dims == dims):
                key = (space.extractor, group_options["resize"], group_dims)
        group = groups.setdefault(key, FeatureGroup([], group_options, group_dims, space if key != ("call",) else None))
        group.names.append(name)
    return list(groups.values())


def check_stored(features, name: str, group: FeatureGroup) -> None:
    """A features file serves a metric's own space only when it was extracted in that space."""
    if group.space is None:
        return
    stored = (features.protocol or {}).get("extractor", "inception")
    spatial = group.space.dims == "spatial"  # sFID's 2023 values (features/inception.py SPATIAL_DIMS)
    if stored != group.space.extractor or (spatial and (features.protocol or {}).get("dims") != 2023):
        raise GenmetricsError(
            f"{name} holds {stored} features; {', '.join(group.names)} is computed on {group.space.describe()} features: "
            f"pass the images (or a features file written with --extractor {group.space.extractor})")


def stored_statistics(opened, group: FeatureGroup):
    """The reference statistics for ``group`` from a statistics input: the matching entry of an edm2 or ADM
    reference file (``fid``, ``fd_dinov2``, ``sfid``), or our own statistics when they are of that space."""
    stats = opened.value
    if stats.meta.get("source_format") in ("edm2", "adm"):
        from ..reference_files import reference_statistics

        metric = "fid" if group.space is None else "sfid" if group.space.dims == "spatial" else group.names[0]
        return reference_statistics(opened.name.split(" [")[0], metric)
    if group.space is not None and stats.meta.get("extractor", "inception") != group.space.extractor:
        raise GenmetricsError(f"{opened.name} holds {stats.meta.get('extractor', 'inception')} statistics; "
                              f"{', '.join(group.names)} is computed on {group.space.describe()} statistics")
    return stats

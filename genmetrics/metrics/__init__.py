"""One short file per metric over the shared feature engine; each registers itself in ``registry``.

The metric files are imported first, in this order, which is the registry's order (the order of the
result keys in every output and of the sweep's columns). The function ``prdc`` is exported by
``genmetrics`` itself, not here, where it would hide its module.
"""
from . import fid as _fid, inception_score as _inception_score, kid as _kid, prdc as _prdc, modes as _modes  # noqa: F401
from . import fd as _fd, cmmd as _cmmd, vendi as _vendi, authpct as _authpct  # noqa: F401
from . import class_coverage as _class_coverage  # noqa: F401
from . import swd as _swd  # noqa: F401
from . import translation as _translation  # noqa: F401  (l1, psnr, ssim: paired with a ground truth)
from .class_coverage import ClassCoverage, class_coverage_from_logits
from .evaluate import evaluate
from .fid import FIDResult, SmallSampleWarning, fid, frechet_distance
from .fid_infinity import fid_infinity
from .inception_score import ISResult, inception_score, inception_score_from_logits
from .kid import kernel_inception_distance
from .modes import ModeCoverage, mode_coverage, mode_coverage_of
from .parzen import ParzenResult, parzen_log_densities, parzen_log_likelihood
from .prdc import DC_K, PR_K
from .registry import Key, get_metric, metric_names, parse_metrics, register_metric, unregister_metric
from .result import KIDResult, MetricResult, PRDCResult
from .scores import scores
from .streaming import (FID, KID, PRDC, Coverage, Density, InceptionScore, Modes, Precision, Recall,
                        StreamingMetrics)

__all__ = ["ClassCoverage", "Coverage", "DC_K", "Density", "FID", "FIDResult", "InceptionScore", "KID", "Modes", "PRDC",
           "Precision", "Recall", "StreamingMetrics", "ISResult", "KIDResult", "Key", "METRICS", "MetricResult",
           "ModeCoverage", "PRDCResult", "PR_K", "ParzenResult", "SmallSampleWarning", "class_coverage_from_logits",
           "evaluate", "fid", "fid_infinity", "frechet_distance",
           "get_metric", "inception_score", "inception_score_from_logits", "kernel_inception_distance",
           "metric_names", "mode_coverage", "mode_coverage_of", "parse_metrics", "parzen_log_densities",
           "parzen_log_likelihood", "register_metric", "scores", "unregister_metric"]


def __getattr__(name: str):
    if name == "METRICS":  # the former constant: the registry's metrics for eval, always current
        return metric_names("eval")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""One short file per metric over the shared feature engine.

The function ``prdc`` is exported by ``genmetrics`` itself, not here, where it would hide its module.
"""
from .evaluate import METRICS, evaluate
from .fid import FIDResult, SmallSampleWarning, fid, frechet_distance
from .fid_infinity import fid_infinity
from .inception_score import ISResult, inception_score, inception_score_from_logits
from .kid import kernel_inception_distance
from .modes import ModeCoverage, mode_coverage, mode_coverage_of
from .parzen import ParzenResult, parzen_log_densities, parzen_log_likelihood
from .prdc import DC_K, PR_K

__all__ = ["DC_K", "FIDResult", "ISResult", "METRICS", "ModeCoverage", "PR_K", "ParzenResult", "SmallSampleWarning",
           "evaluate", "fid", "fid_infinity", "frechet_distance", "inception_score", "inception_score_from_logits",
           "kernel_inception_distance", "mode_coverage", "mode_coverage_of", "parzen_log_densities",
           "parzen_log_likelihood"]

"""genmetrics: evaluate generative image models with the numbers the reference tools give.

    import genmetrics
    genmetrics.fid("real/", "fake/").fid
    genmetrics.inception_score("fake/").inception_score
    genmetrics.evaluate("real/", "fake/", metrics="fid,kid,precision,recall")
    genmetrics.compute_features("fake/").features            # (N, 2048) float32
    genmetrics.frechet_distance(mu1, sigma1, mu2, sigma2)
    genmetrics.parzen_log_likelihood("fake/", "test/", valid="valid/", gray=True).log_likelihood
    genmetrics.truncation_sweep(genmetrics.load_generator("runs/cifar"), 128, "real/", [1.0, 0.5])
"""
from ._version import __version__
from .errors import GenmetricsError
from .features import Features, FIDInceptionV3, compute_features, compute_statistics, save_features
from .metrics import (FIDResult, ISResult, ModeCoverage, ParzenResult, SmallSampleWarning, evaluate, fid,
                      fid_infinity, frechet_distance, inception_score, inception_score_from_logits,
                      kernel_inception_distance, mode_coverage, parzen_log_densities, parzen_log_likelihood)
from .memorization import memorization_report
from .metrics.prdc import prdc
from .stats import RunningStats, Statistics, load_statistics, save_statistics
from .sweep import truncation_sweep
from .trainers import load_generator, train

__all__ = ["__version__", "GenmetricsError", "Features", "FIDInceptionV3", "FIDResult", "ISResult", "ModeCoverage",
           "ParzenResult", "RunningStats", "SmallSampleWarning", "Statistics", "compute_features",
           "compute_statistics", "evaluate", "fid", "fid_infinity", "frechet_distance", "inception_score",
           "inception_score_from_logits", "kernel_inception_distance", "load_generator", "load_statistics",
           "memorization_report", "mode_coverage", "parzen_log_densities", "parzen_log_likelihood", "prdc",
           "save_features", "save_statistics", "train", "truncation_sweep"]

"""genmetrics: evaluate generative image models with the numbers the reference tools give.

    import genmetrics
    genmetrics.fid("real/", "fake/").fid
    genmetrics.inception_score("fake/").inception_score
    genmetrics.compute_features("fake/").features            # (N, 2048) float32
    genmetrics.frechet_distance(mu1, sigma1, mu2, sigma2)
"""
from ._version import __version__
from .errors import GenmetricsError
from .features import Features, FIDInceptionV3, compute_features, compute_statistics, save_features
from .metrics import (FIDResult, ISResult, SmallSampleWarning, fid, frechet_distance, inception_score,
                      inception_score_from_logits)
from .stats import RunningStats, Statistics, load_statistics, save_statistics

__all__ = ["__version__", "GenmetricsError", "Features", "FIDInceptionV3", "FIDResult", "ISResult",
           "RunningStats", "SmallSampleWarning", "Statistics", "compute_features", "compute_statistics",
           "fid", "frechet_distance", "inception_score", "inception_score_from_logits", "load_statistics",
           "save_features", "save_statistics"]

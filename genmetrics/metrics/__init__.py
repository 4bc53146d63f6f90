"""One short file per metric over the shared feature engine."""
from .fid import FIDResult, SmallSampleWarning, fid, frechet_distance
from .inception_score import ISResult, inception_score, inception_score_from_logits

__all__ = ["FIDResult", "ISResult", "SmallSampleWarning", "fid", "frechet_distance", "inception_score",
           "inception_score_from_logits"]

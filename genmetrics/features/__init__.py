"""The FID InceptionV3, its weights, the preprocessing protocols and the streaming feature engine."""
from .compute import Features, compute_features, compute_logits, compute_statistics, save_features
from .inception import FIDInceptionV3
from .weights import WEIGHTS_URL, resolve_weights

__all__ = ["FIDInceptionV3", "Features", "WEIGHTS_URL", "compute_features", "compute_logits",
           "compute_statistics", "resolve_weights", "save_features"]

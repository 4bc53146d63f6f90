"""Helpers shared by the tests."""
import numpy as np


def relative_error(ours, reference) -> float:
    """max |ours - reference| / max |reference|: robust where single features are near zero."""
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    return float(np.abs(ours - reference).max() / np.abs(reference).max())

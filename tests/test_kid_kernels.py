"""KID's kernel options (degree, gamma, coef0; torch-fidelity's RBF kernel) against torch-fidelity itself, the
defaults unchanged, and the options reachable from the CLI and the streaming KID."""
import json

import numpy as np
import pytest
import torch

from genmetrics.errors import GenmetricsError
from genmetrics.features.files import Features, save_features
from genmetrics.metrics.kid import kernel_inception_distance
from tests.helpers import fails_cleanly, run


def features(n, d=16, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


KERNELS = [
    dict(ours=dict(kernel="rbf", rbf_sigma=4.0), theirs=dict(kid_kernel="rbf", kid_kernel_rbf_sigma=4.0)),
    dict(ours=dict(kernel="rbf"), theirs=dict(kid_kernel="rbf")),  # both default sigma = 10
    dict(ours=dict(degree=2, gamma=0.01, coef0=0.5),
         theirs=dict(kid_kernel="poly", kid_kernel_poly_degree=2, kid_kernel_poly_gamma=0.01, kid_kernel_poly_coef0=0.5)),
]


@pytest.mark.parametrize("kernel", KERNELS, ids=["rbf-4", "rbf-default", "poly-2"])
def test_kernels_match_torch_fidelity(kernel):
    from torch_fidelity.metric_kid import kid_features_to_metric

    x, y = features(120, seed=1), features(100, shift=0.2, seed=2)
    ours = kernel_inception_distance(x, y, subsets=10, subset_size=50, seed=2020, **kernel["ours"])
    theirs = kid_features_to_metric(torch.from_numpy(x), torch.from_numpy(y), kid_subsets=10, kid_subset_size=50,
                                    rng_seed=2020, verbose=False, **kernel["theirs"])
    # same subsets (same RandomState calls), both float64: round-off only
    assert ours.kid == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-9)
    assert ours.kid_std == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-9)
    assert ours.kernel == kernel["ours"].get("kernel", "poly") and ours.protocol["kernel_params"]


def test_defaults_are_the_cubic_polynomial_and_bad_kernels_are_refused():
    x, y = features(60, seed=1), features(60, shift=0.5, seed=2)
    default = kernel_inception_distance(x, y, subsets=5, subset_size=30)
    spelled = kernel_inception_distance(x, y, subsets=5, subset_size=30, kernel="poly", degree=3, gamma=1 / 16,
                                        coef0=1.0)
    assert default.kid == spelled.kid and default.kernel_params == {"degree": 3, "gamma": None, "coef0": 1.0}
    for bad, message in ((dict(kernel="linear"), "--kid-kernel"), (dict(degree=0), "--kid-degree"),
                         (dict(kernel="rbf", rbf_sigma=0.0), "--kid-rbf-sigma")):
        with pytest.raises(GenmetricsError, match=message):
            kernel_inception_distance(x, y, subsets=5, subset_size=30, **bad)


def test_the_cli_takes_the_kernel_options(tmp_path):
    for name, seed, shift in (("a", 1, 0.0), ("b", 2, 0.3)):
        save_features(tmp_path / f"{name}.npz", Features(features(40, seed=seed, shift=shift).astype(np.float32), None,
                                                         None, {"resize": "tf"}))
    args = ["kid", tmp_path / "a.npz", tmp_path / "b.npz", "--kid-subsets", "4", "--kid-subset-size", "20", "--json"]
    code, out, err = run(*args, "--kid-kernel", "rbf", "--kid-rbf-sigma", "3")
    assert code == 0, err
    result = json.loads(out)
    expected = kernel_inception_distance(features(40, seed=1).astype(np.float32), features(40, seed=2, shift=0.3)
                                         .astype(np.float32), 4, 20, kernel="rbf", rbf_sigma=3.0)
    assert result["kid"] == pytest.approx(expected.kid, rel=1e-12)
    assert result["protocol"]["kid_kernel"] == "rbf" and result["protocol"]["kid_rbf_sigma"] == 3.0
    code, out, _ = run(*args, "--kid-gamma", "0.5", "--kid-degree", "2")
    assert code == 0 and json.loads(out)["protocol"]["kid_gamma"] == 0.5
    fails_cleanly([*args, "--kid-rbf-sigma", "-1", "--kid-kernel", "rbf"], "--kid-rbf-sigma")

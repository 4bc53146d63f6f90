"""The Parzen-window log-likelihood: the formula, goodfeli/adversarial parzen_ll.py, sklearn, inputs, CLI.

Tolerances: our engine and the references all work in float64. Ours gets distances from matrix
products (||x||^2 + ||mu||^2 - 2 x.mu, on centred rows), the references from direct differences, so the
two differ by float64 round-off (measured 1e-16 to 1e-14 relative); 1e-9 relative leaves room for that and
still catches any real mistake (a wrong normaliser or one lost kernel moves the value by > 1e-6).
"""
import json
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from scipy.special import logsumexp

from genmetrics import GenmetricsError, parzen_log_densities, parzen_log_likelihood
from genmetrics.cli import cli
from genmetrics.metrics._parzen_inputs import luma

from tests.helpers import relative_error

RTOL = 1e-9  # see the module docstring
GRID = np.logspace(-1, 0, 10)  # parzen_ll.py: numpy.logspace(--sigma_start -1, --sigma_end 0, --cross_val 10)


def clustered(rng, n, d, centres=8, spread=0.12):
    """Pixel-like data in [0, 1]: a few prototypes plus noise (structure, not uniform noise)."""
    prototypes = np.random.default_rng(1234).random((centres, d))  # shared by every set of one test
    return np.clip(prototypes[rng.integers(0, centres, n)] + spread * rng.standard_normal((n, d)), 0, 1)


def direct_log_densities(mu, x, sigma, chunk=16):
    """log p(x) straight from the formula: direct differences, scipy's logsumexp, float64."""
    out = []
    for lo in range(0, len(x), chunk):
        sq = ((x[lo:lo + chunk, None, :] - mu[None, :, :]) ** 2).sum(-1)
        out.append(logsumexp(-sq / (2 * sigma ** 2), axis=1))
    return np.concatenate(out) - np.log(len(mu)) - mu.shape[1] * np.log(sigma * np.sqrt(2 * np.pi))


# ---- a straight NumPy port of goodfeli/adversarial parzen_ll.py (Theano replaced by NumPy) ----------
def port_log_mean_exp(a):
    """parzen_ll.py log_mean_exp: max + log(mean(exp(a - max))) over axis 1."""
    top = a.max(1)
    return top + np.log(np.exp(a - top[:, None]).mean(1))


def port_parzen(mu, sigma):
    """parzen_ll.py theano_parzen: a = (x - mu) / sigma on a (batch, n, d) tensor; E - Z."""
    def log_density(x):
        a = (x[:, None, :] - mu[None, :, :]) / sigma
        return port_log_mean_exp(-0.5 * (a ** 2).sum(2)) - mu.shape[1] * np.log(sigma * np.sqrt(np.pi * 2))
    return log_density


def port_get_nll(x, parzen, batch_size=10):
    """parzen_ll.py get_nll: ceil(N / batch_size) strided batches x[i::n_batches]."""
    n_batches = int(np.ceil(float(x.shape[0]) / batch_size))
    return np.concatenate([parzen(x[i::n_batches]) for i in range(n_batches)])


def port_protocol(samples, valid, test, batch_size=10):
    """parzen_ll.py main: cross_validate_sigma on valid over the grid, then test mean and std / sqrt(N)."""
    curve = [port_get_nll(valid, port_parzen(samples, s), batch_size).mean() for s in GRID]
    sigma = GRID[np.argmax(curve)]
    ll = port_get_nll(test, port_parzen(samples, sigma), batch_size)
    return sigma, np.array(curve), ll.mean(), ll.std() / np.sqrt(test.shape[0])


# ---- the formula ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, m, d, block", [(50, 40, 3, 16), (300, 257, 20, 64), (600, 90, 784, 128),
                                             (10, 7, 5, 1000)])
def test_matches_the_direct_formula(n, m, d, block):
    rng = np.random.default_rng(n + d)
    mu, x = clustered(rng, n, d), clustered(rng, m, d)
    ours = parzen_log_densities(mu, x, GRID, batch_size=block)  # blocks smaller than the sets: streaming
    for k, sigma in enumerate(GRID):
        assert relative_error(ours[k], direct_log_densities(mu, x, sigma)) < RTOL


def test_cpu_and_gpu_exp_paths_agree():
    # The GPU path (torch) cannot run here; on CPU tensors it must give the NumPy path's sums to round-off.
    from genmetrics.metrics.parzen import _exp_sums_numpy, _exp_sums_torch
    sq = torch.from_numpy(np.random.default_rng(2).random((300, 70)) * 40)
    sums = [torch.rand(len(GRID), 300, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
            for _ in range(2)]
    for add, target in zip((_exp_sums_numpy, _exp_sums_torch), sums):
        add(sq, [-0.5 / s ** 2 for s in GRID], target)
    assert relative_error(sums[0], sums[1]) < 1e-14  # the same float64 sums in another order


def test_uint8_distances_are_exact_integers():
    # Two uint8 sets on a CPU take the exact path: float32 products of pixels - 128, summed over at
    # most 1024 columns, are exact, so the distances equal NumPy's int64 ones bit for bit (d > 1024
    # exercises the column chunks).
    from genmetrics.metrics.parzen import _block, _squared_distances
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 256, (33, 1500), dtype=np.uint8), rng.integers(0, 256, (41, 1500), dtype=np.uint8)
    x, mu = _block(torch.from_numpy(a), 0, 33, 255.0, None), _block(torch.from_numpy(b), 0, 41, 255.0, None)
    expected = ((a.astype(np.int64)[:, None, :] - b[None].astype(np.int64)) ** 2).sum(-1)
    np.testing.assert_array_equal(_squared_distances(*x, *mu, exact=True).numpy(), expected)


@pytest.mark.parametrize("precision", ["highest", "high"])
def test_uint8_images_match_the_formula_on_both_paths(precision):
    # "high" may let float32 matmuls round (TF32/bf16), so the exact uint8 path is off and float64 runs.
    rng = np.random.default_rng(6)
    mu, x = rng.integers(0, 256, (150, 1100), dtype=np.uint8), rng.integers(0, 256, (40, 1100), dtype=np.uint8)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        ours = parzen_log_densities(mu, x, [0.5, 1.0], batch_size=64)
    finally:
        torch.set_float32_matmul_precision(before)
    for k, sigma in enumerate([0.5, 1.0]):
        assert relative_error(ours[k], direct_log_densities(mu / 255.0, x / 255.0, sigma)) < RTOL


def test_block_size_does_not_change_the_values():
    # The same sums in a different order: float64 round-off only (~1e-15 relative).
    rng = np.random.default_rng(3)
    mu, x = clustered(rng, 333, 16), clustered(rng, 101, 16)
    small = parzen_log_densities(mu, x, 0.2, batch_size=7)
    assert relative_error(small, parzen_log_densities(mu, x, 0.2, batch_size=4096)) < 1e-12


@pytest.mark.filterwarnings("ignore:the validation log-likelihood peaks at the edge")
@pytest.mark.parametrize("n, nv, nt, d, block", [(200, 60, 70, 12, 32), (500, 100, 90, 64, 64)])
def test_matches_the_numpy_port_of_parzen_ll(n, nv, nt, d, block):
    rng = np.random.default_rng(d)
    samples, valid, test = clustered(rng, n, d), clustered(rng, nv, d), clustered(rng, nt, d)
    sigma, curve, ll, se = port_protocol(samples, valid, test)
    result = parzen_log_likelihood(samples, test, valid, batch_size=block, progress=False)
    assert result.sigma == sigma  # the same grid point: the grid is bit-identical (logspace(-1, 0, 10))
    assert [s for s, _ in result.curve] == list(GRID)
    assert relative_error([v for _, v in result.curve], curve) < RTOL
    assert result.log_likelihood == pytest.approx(ll, rel=RTOL)
    assert result.standard_error == pytest.approx(se, rel=RTOL)
    assert result.bits_per_dim == pytest.approx(-ll / (d * np.log(2)), rel=RTOL)
    assert (result.n_samples, result.n_valid, result.n_test, result.dim) == (n, nv, nt, d)


@pytest.mark.parametrize("d, sigma", [(1, 0.05), (1, 0.3), (2, 0.3), (2, 0.5)])
def test_matches_sklearn_kernel_density_in_one_and_two_dimensions(d, sigma):
    # Only 1-D/2-D with widths not small against the spread: sklearn's tree-based score_samples is wrong
    # in high dimensions and for small widths (scikit-learn #7492, #25799; on these 2-D unit Gaussians
    # sigma=0.1 is off by 4e-8 nats, sigma=0.05 by 5.6 nats at one point; benchmarks/parzen.py measures
    # it). Where it is right, with rtol = atol = 0 its sums are exact to float64 round-off (~1e-14), within RTOL.
    sklearn_neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(d)
    mu, x = rng.standard_normal((400, d)), rng.standard_normal((150, d))
    kde = sklearn_neighbors.KernelDensity(kernel="gaussian", bandwidth=sigma).fit(mu)
    assert relative_error(parzen_log_densities(mu, x, sigma, batch_size=64), kde.score_samples(x)) < RTOL


# ---- choosing sigma ---------------------------------------------------------------------------------
def sets(seed=0, n=300, nv=80, nt=90, d=10):
    """Samples, validation, test; spread 0.25 puts the peak of the validation curve inside the grid."""
    rng = np.random.default_rng(seed)
    return tuple(clustered(rng, k, d, spread=0.25) for k in (n, nv, nt))


def test_sigma_is_the_maximum_of_the_validation_curve():
    samples, valid, test = sets()
    result = parzen_log_likelihood(samples, test, valid, batch_size=50, progress=False)
    means = parzen_log_densities(samples, valid, GRID).mean(axis=1)
    assert relative_error([v for _, v in result.curve], means) < RTOL
    assert result.sigma == GRID[np.argmax(means)] and 0 < np.argmax(means) < len(GRID) - 1
    assert result.valid_log_likelihood == pytest.approx(means.max(), rel=RTOL)
    assert result.log_likelihood == pytest.approx(direct_log_densities(samples, test, result.sigma).mean(), rel=RTOL)


def test_custom_grid_and_edge_warning():
    samples, valid, test = sets()
    with pytest.warns(UserWarning, match="edge of the sigma grid"):
        result = parzen_log_likelihood(samples, test, valid, sigma_grid=(0.5, 2.0, 4), progress=False)
    assert [s for s, _ in result.curve] == list(np.logspace(np.log10(0.5), np.log10(2.0), 4))
    assert result.sigma == 0.5


def test_refine_finds_at_least_the_grid_best():
    samples, valid, test = sets(1)
    result = parzen_log_likelihood(samples, test, valid, sigma_search="refine", progress=False)
    grid = parzen_log_likelihood(samples, test, valid, progress=False)
    assert result.grid_sigma == grid.sigma and result.grid_log_likelihood == pytest.approx(grid.valid_log_likelihood)
    at_refined = direct_log_densities(samples, valid, result.sigma).mean()
    assert at_refined == pytest.approx(result.valid_log_likelihood, rel=RTOL)
    assert at_refined >= grid.valid_log_likelihood
    best = list(GRID).index(grid.sigma)
    assert GRID[best - 1] <= result.sigma <= GRID[best + 1]


def test_fixed_sigma_skips_tuning_and_does_not_read_valid():
    samples, _, test = sets()
    result = parzen_log_likelihood(samples, test, "/nonexistent/valid.npy", sigma=0.3, progress=False)
    assert result.curve == [] and result.n_valid is None and result.sigma_search == "fixed"
    lls = direct_log_densities(samples, test, 0.3)
    assert result.log_likelihood == pytest.approx(lls.mean(), rel=RTOL)
    assert result.standard_error == pytest.approx(lls.std() / np.sqrt(len(lls)), rel=RTOL)  # ddof=0


def test_no_validation_set_is_refused_unless_allowed():
    samples, _, test = sets()
    with pytest.raises(GenmetricsError, match="inflates"):
        parzen_log_likelihood(samples, test, progress=False)
    result = parzen_log_likelihood(samples, test, allow_tune_on_test=True, progress=False)
    assert result.tuned_on_test and result.n_valid == len(test)
    with pytest.warns(UserWarning, match=f"{len(test)} of the {len(test)} test rows"):
        explicit = parzen_log_likelihood(samples, test, test, progress=False)
    assert (result.sigma, result.log_likelihood) == (explicit.sigma, pytest.approx(explicit.log_likelihood, rel=RTOL))


def test_overlap_warning_counts_rows():
    samples, valid, test = sets()
    valid[:7] = test[10:17]
    with pytest.warns(UserWarning, match="7 of the 90 test rows also appear in the validation set"):
        parzen_log_likelihood(samples, test, valid, progress=False)


def test_first_n_samples_are_the_centres():
    samples, valid, test = sets()
    a = parzen_log_likelihood(samples, test, valid, n=100, progress=False)
    b = parzen_log_likelihood(samples[:100], test, valid, progress=False)
    assert a.n_samples == 100 and a.to_dict() | {"inputs": None} == b.to_dict() | {"inputs": None}
    json.dumps(a.to_dict())  # JSON-ready


# ---- bad input --------------------------------------------------------------------------------------
def bad_inputs():
    samples, valid, test = sets()
    nan = test.copy()
    nan[5, 2] = np.nan
    yield "dimension", dict(samples=samples, test=test[:, :5], valid=valid), "different dimensions"
    for sigma in (0.0, -1.0, float("nan"), float("inf")):
        yield f"sigma={sigma}", dict(samples=samples, test=test, sigma=sigma), "--sigma must be a positive"
    yield "empty samples", dict(samples=np.empty((0, 10)), test=test, valid=valid), "sample set"
    yield "empty test", dict(samples=samples, test=np.empty((0, 10)), valid=valid), "test set"
    yield "nan test", dict(samples=samples, test=nan, valid=valid), "test set <ndarray (90, 10)> holds NaN"
    yield "int vectors", dict(samples=samples, test=test.astype(np.int64), valid=valid), "2-D int64"
    yield "grid", dict(samples=samples, test=test, valid=valid, sigma_grid=(1.0, 0.1, 10)), "--sigma-grid"
    yield "grid text", dict(samples=samples, test=test, valid=valid, sigma_grid="0.1:1"), "--sigma-grid"
    yield "sigma and grid", dict(samples=samples, test=test, sigma=0.2, sigma_grid=(0.1, 1.0, 3)), "one or the other"
    yield "search", dict(samples=samples, test=test, valid=valid, sigma_search="best"), "--sigma-search"
    yield "n", dict(samples=samples, test=test, valid=valid, n=0), "-n must be"
    yield "block", dict(samples=samples, test=test, valid=valid, batch_size=0), "--batch-size"
    yield "device", dict(samples=samples, test=test, sigma=0.2, device="tpu"), "--device"


@pytest.mark.parametrize("case", list(bad_inputs()), ids=lambda case: case[0])
def test_bad_input_is_a_clear_error(case):
    _, kwargs, fragment = case
    with pytest.raises(GenmetricsError) as info:
        parzen_log_likelihood(**kwargs, progress=False)
    assert fragment in str(info.value)


# ---- inputs -----------------------------------------------------------------------------------------
def test_gray_is_pils_convert_l():
    rgb = np.random.default_rng(0).integers(0, 256, (37, 23, 3), dtype=np.uint8)
    np.testing.assert_array_equal(luma(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_image_arrays_and_iterables_equal_scaled_vectors():
    # uint8 / 255 is the same float64 in our blocks as in NumPy and the sums run in the same order, so
    # the results agree to round-off (1e-12).
    rng = np.random.default_rng(5)
    samples, valid, test = (rng.integers(0, 256, (k, 6, 5, 3), dtype=np.uint8) for k in (120, 40, 50))

    def flat(images):
        return images.reshape(len(images), -1) / 255.0  # H, W, C order

    expected = parzen_log_likelihood(flat(samples[:100]), flat(test), flat(valid), progress=False)
    batches = [torch.from_numpy(samples[:70]).permute(0, 3, 1, 2), torch.from_numpy(samples[70:])]
    for source in (samples, batches):  # an array source; an iterable of batches, cut at n inside one
        result = parzen_log_likelihood(source, test, valid, n=100, progress=False)
        assert (result.n_samples, result.dim, result.sigma) == (100, 90, expected.sigma)
        assert result.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)


def write_pngs(folder, images):
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return folder


def test_mixed_image_sizes_are_an_error(tmp_path):
    rng = np.random.default_rng(0)
    write_pngs(tmp_path / "s", [rng.integers(0, 256, (8, 8), dtype=np.uint8)] * 3 +
               [rng.integers(0, 256, (6, 8), dtype=np.uint8)])
    with pytest.raises(GenmetricsError, match="mixes image sizes: image 3 is 6x8 but the first is 8x8"):
        parzen_log_likelihood(tmp_path / "s", np.zeros((2, 64)), sigma=0.2, progress=False)


# ---- the command line -------------------------------------------------------------------------------
def run(*args):
    result = CliRunner().invoke(cli, ["parzen", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_on_npy_toy_data(tmp_path):
    samples, valid, test = (np.random.default_rng(s).standard_normal((n, 2)) for s, n in ((0, 400), (1, 80), (2, 90)))
    for name, array in (("s", samples), ("v", valid), ("t", test)):
        np.save(tmp_path / f"{name}.npy", array)
    code, out, _ = run(tmp_path / "s.npy", tmp_path / "t.npy", "--valid", tmp_path / "v.npy", "--json", "-q")
    assert code == 0
    result = json.loads(out)
    for key in ("log_likelihood", "standard_error", "sigma", "bits_per_dim", "n_samples", "n_test", "dim", "curve"):
        assert key in result
    expected = parzen_log_likelihood(samples, test, valid, progress=False)
    assert result["log_likelihood"] == pytest.approx(expected.log_likelihood, rel=RTOL)
    assert (result["sigma"], result["dim"], result["n_test"], len(result["curve"])) == (expected.sigma, 2, 90, 10)
    code, out, _ = run(tmp_path / "s.npy", tmp_path / "t.npy", "--valid", tmp_path / "v.npy", "-q")
    assert code == 0 and "nats" in out and "bits/dim" in out and out.count("\n") >= 13


def test_cli_png_folders_with_gray(tmp_path):
    rng = np.random.default_rng(7)
    arrays = {name: (clustered(rng, k, 64) * 255).round().astype(np.uint8).reshape(k, 8, 8)
              for name, k in (("s", 60), ("v", 20), ("t", 25))}
    folders = {name: write_pngs(tmp_path / name, list(a)) for name, a in arrays.items()}
    code, out, _ = run(folders["s"], folders["t"], "--valid", folders["v"], "--gray", "--json", "-q")
    assert code == 0
    result = json.loads(out)
    expected = parzen_log_likelihood(*(arrays[k].reshape(-1, 64) / 255.0 for k in "stv"), progress=False)
    assert result["dim"] == 64 and result["log_likelihood"] == pytest.approx(expected.log_likelihood, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the grid-edge warning may also fire here
        with pytest.warns(UserWarning, match="grayscale stored as RGB"):
            assert parzen_log_likelihood(folders["s"], folders["t"], folders["v"], progress=False).dim == 192


@pytest.mark.parametrize("args, fragment", [(["--sigma", "-1"], "--sigma must be a positive"),
                                            (["--sigma-grid", "0.1:1"], "--sigma-grid must be lo:hi:n"),
                                            ([], "no validation set")])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, fragment):
    np.save(tmp_path / "s.npy", np.zeros((5, 2)))
    code, out, err = run(tmp_path / "s.npy", tmp_path / "s.npy", *args, "-q")
    lines = [line for line in err.splitlines() if line.startswith("genmetrics: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and fragment in lines[0], err


def test_cli_different_dimensions(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((5, 2)))
    np.save(tmp_path / "t.npy", np.zeros((5, 3)))
    code, _, err = run(tmp_path / "s.npy", tmp_path / "t.npy", "--sigma", "0.2")
    assert code == 2 and "different dimensions" in err and "Traceback" not in err

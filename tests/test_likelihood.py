"""Likelihood models (vae, nade, pixelcnn, aae), the binarised digits and genmetrics nll.

Exactness is checked where the likelihood can be enumerated (3x3 binary images: all 512 of them), the
PixelCNN's masks by gradients, the VAE's bounds by their ordering, and every model against the
independent-pixel baseline on held-out digits after a few seconds of training at the digits' native 8x8.
Nets run in float64 where a tolerance of 1e-6 or less is asserted (the claim is about the model, not
float32 round-off). One torch thread: on a shared two-core machine, two threads of tiny ops cost several
times more than one.
"""
import itertools
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from genmetrics import GenmetricsError
from genmetrics.cli import cli
from genmetrics.trainers import load_generator, train
from genmetrics.trainers.binarize import DIGITS_THRESHOLD
from genmetrics.trainers.data import load_digits, open_training_data
from genmetrics.trainers.nade import NADENet
from genmetrics.trainers.nll import _vae_bounds, independent_pixel_nll, negative_log_likelihood
from genmetrics.trainers.likelihood import inverse_cdf
from genmetrics.trainers.pixelcnn import PixelCNNNet
from genmetrics.trainers.vae import VAENet, discretised_logistic_log_prob

from .helpers import one_thread  # noqa: F401 (autouse: this module runs on one torch thread)

pytest.importorskip("sklearn")

FAST = dict(device="cpu", sample_every=0, checkpoint_every=0, log_every=50)
# A few seconds each; settings chosen so that each model beats the baseline by more than 3 nats here.
QUICK = {"nade": dict(g_width=50, batch_size=100, steps=100, lr_g=0.01),
         "pixelcnn": dict(g_width=16, g_depth=1, batch_size=64, steps=100, lr_g=0.01),
         "vae": dict(g_width=50, z_dim=8, batch_size=50, steps=200, lr_g=0.01)}


def all_binary_images(side: int) -> torch.Tensor:
    rows = list(itertools.product((0, 1), repeat=side * side))
    return torch.tensor(rows, dtype=torch.long).view(-1, 1, side, side)


def tiny_autoregressive(kind: str, levels: int = 2, side: int = 3):
    torch.manual_seed(0)
    net = NADENet((1, side, side), 7) if kind == "nade" else PixelCNNNet((1, side, side), levels, 6, 2)
    for p in net.parameters():  # larger than the default init, so that the conditionals differ clearly
        torch.nn.init.normal_(p, 0.0, 0.7)
    return net.double()


def chain_rule_log_prob(net, x: torch.Tensor) -> torch.Tensor:
    """log p(x) = sum_d log p(x_d | x_<d), each conditional read from the network fed only x_<d (the pixels
    from d on set to 0): a computation that needs no mask to be right."""
    flat, total = x.flatten(1), torch.zeros(len(x), dtype=torch.float64)
    for d in range(flat.shape[1]):
        seen = flat.clone()
        seen[:, d:] = 0
        logits = net.logits(seen.view_as(x)).flatten(1)[:, d] if isinstance(net, NADENet) else \
            net.logits(seen.view_as(x)).flatten(2)[:, :, d]
        if isinstance(net, NADENet) or net.levels == 2:
            logits = logits.squeeze(-1) if logits.dim() > 1 else logits
            p_one = torch.sigmoid(logits)
            total += torch.where(flat[:, d] == 1, p_one, 1 - p_one).log()
        else:
            total += torch.log_softmax(logits, 1).gather(1, flat[:, d:d + 1]).squeeze(1)
    return total


@pytest.mark.parametrize("kind", ["nade", "pixelcnn"])
def test_probabilities_of_all_3x3_binary_images_sum_to_one(kind):
    net = tiny_autoregressive(kind)
    images = all_binary_images(3)
    with torch.no_grad():
        log_p = net.log_prob(images)
        brute = chain_rule_log_prob(net, images)
    # float64: 512 probabilities summed, each within ~1e-15 relative; 1e-6 is the bound.
    assert abs(log_p.exp().sum().item() - 1.0) < 1e-6
    assert log_p.exp().max() > 3 / 512  # not the uniform distribution: the check has something to sum
    torch.testing.assert_close(log_p, brute, rtol=0, atol=1e-9)


def test_discretised_logistic_sums_to_one_over_256_levels_and_samples_its_bins():
    gen = torch.Generator().manual_seed(0)
    mean = torch.rand(5, 1, generator=gen, dtype=torch.float64) * 2.4 - 1.2   # some beyond [-1, 1]
    log_scale = torch.tensor([[-7.0], [-4.0], [-2.0], [0.0], [1.0]], dtype=torch.float64)
    levels = torch.arange(256).view(1, 256)
    log_p = discretised_logistic_log_prob(levels, mean, log_scale)  # (5, 256)
    # float64: each row's 256 probabilities sum to 1 within 1e-6 (the fallback for underflowing bins, a
    # density times the bin width, is where a sum could drift; scale e^-7 exercises it).
    torch.testing.assert_close(log_p.exp().sum(1), torch.ones(5, dtype=torch.float64), rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["nade", "pixelcnn"])
def test_samples_follow_the_enumerated_distribution(kind):
    # The sampler (inverse CDF of each conditional at Phi(z)) against the 512-row table, from 8,000 samples:
    # the mean of -log p is the entropy within 4 standard errors, and the total variation distance is
    # below 1.5 times its expected size under exact sampling, 0.5 sum_i sqrt(2 p_i (1 - p_i) / (pi n)).
    n = 8000
    net = tiny_autoregressive(kind)
    images = all_binary_images(3)
    with torch.no_grad():
        p = net.log_prob(images).exp()
        samples = net.sample(torch.randn(n, 9, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
        log_q = net.log_prob(samples)
    entropy = -(p * p.log()).sum().item()
    assert abs(-log_q.mean().item() - entropy) < 4 * log_q.std().item() / math.sqrt(n)
    index = (samples.flatten(1) * (2 ** torch.arange(8, -1, -1))).sum(1)
    frequencies = torch.bincount(index, minlength=512).double() / n
    expected_tv = 0.5 * (2 * p * (1 - p) / (math.pi * n)).sqrt().sum().item()
    assert 0.5 * (frequencies - p).abs().sum().item() < 1.5 * expected_tv


@pytest.mark.parametrize("levels", [2, 256])
def test_pixelcnn_samples_from_row_bands_equal_samples_from_whole_images(levels):
    net = tiny_autoregressive("pixelcnn", levels, side=7)  # reach 3 + 2 = 5 rows: bands cut rows 0 and 1
    z = torch.randn(6, 49, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    u = torch.special.ndtr(z).view(6, 1, 7, 7)
    whole = torch.zeros(6, 1, 7, 7, dtype=torch.long)
    with torch.no_grad():
        for i, j in itertools.product(range(7), range(7)):  # the naive sampler: the whole image every time
            logits = net.logits(whole)[:, :, i, j]
            whole[:, 0, i, j] = ((u[:, 0, i, j] < torch.sigmoid(logits[:, 0])).long() if levels == 2 else
                                 inverse_cdf(torch.softmax(logits, 1), u[:, 0, i, j]))
        assert torch.equal(net.sample(z), whole)


@pytest.mark.parametrize("levels", [2, 256])
def test_pixelcnn_masks_leave_no_path_from_a_pixel_to_itself_or_later_pixels(levels):
    net = tiny_autoregressive("pixelcnn", levels, side=5)
    # 16 random inputs: a ReLU that is off for one input can hide a path, not for all 16.
    x = torch.randn(16, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    out = net.body(x)
    order = torch.arange(25).view(5, 5)
    for i, j in itertools.product(range(5), range(5)):
        (grad,) = torch.autograd.grad(out[:, :, i, j].sum(), x, retain_graph=True)
        position = i * 5 + j
        assert (grad[:, 0][:, order >= position] == 0).all(), (i, j)  # exactly zero: no path at all
        if position > 0:
            assert grad[:, 0][:, order < position].abs().sum() > 0, (i, j)  # and it does see earlier pixels


def test_nade_logit_of_a_pixel_depends_only_on_earlier_pixels():
    net = tiny_autoregressive("nade", side=4)
    x = torch.rand(1, 16, dtype=torch.float64, requires_grad=True)
    logits = net.logits(x.view(1, 1, 4, 4))
    for d in range(16):
        (grad,) = torch.autograd.grad(logits[0, d], x, retain_graph=True)
        assert (grad[0, d:] == 0).all() and (d == 0 or grad[0, :d].abs().sum() > 0)


def test_elbo_below_iwae_below_iwae_with_more_samples():
    torch.manual_seed(0)
    net = VAENet((1, 8, 8), latent=4, width=16, depth=1).double()
    x = (load_digits(8, "test")[0][:40] >= DIGITS_THRESHOLD).long()
    with torch.no_grad():
        bounds = {k: _vae_bounds(net, x, 0, k, seed=3, device="cpu") for k in (1, 10, 200)}
    for k, (neg_elbo, neg_iwae) in bounds.items():
        # Per image, from the same draws: logmeanexp >= mean (Jensen), exactly; at k = 1 they coincide.
        assert (neg_iwae <= neg_elbo + 1e-9).all()
        if k == 1:
            np.testing.assert_allclose(neg_iwae, neg_elbo, rtol=0, atol=1e-9)
    # On average over 40 images: ELBO <= IWAE_10 <= IWAE_200 (Burda et al. 2016, Theorem 1); the gaps
    # here are several nats, far beyond the Monte Carlo noise of the means.
    means = [bounds[k][1].mean() for k in (1, 10, 200)]
    assert bounds[10][0].mean() > means[1] > means[2] and means[0] > means[1]


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("likelihood")
    for model, options in QUICK.items():
        train(model, "digits-binary", root / model, progress=False, **FAST, **options)
    return root


@pytest.mark.parametrize("model", list(QUICK))
def test_each_model_beats_independent_pixels_on_held_out_digits(quick_runs, model):
    result = negative_log_likelihood(quick_runs / model, k=100, progress=False)
    assert result.n == 150 and result.dim == 64 and result.levels == 2
    # Baseline ~24.25 nats; the models ~20-21 after a few seconds. 3 nats is about 10 standard errors.
    assert result.nll < result.baseline_nll - 3.0, (result.nll, result.baseline_nll)
    assert result.exact == (model != "vae")
    if model == "vae":
        assert result.neg_elbo >= result.nll and result.k == 100
    grid = quick_runs / model / "samples" / f"step_{QUICK[model]['steps']:06d}.png"
    assert grid.is_file()


def test_nll_equals_the_chain_rule_computed_pixel_by_pixel(quick_runs):
    test = (load_digits(8, "test")[0] >= DIGITS_THRESHOLD).long()
    for model in ("nade", "pixelcnn"):
        result = negative_log_likelihood(quick_runs / model, batch_size=7, progress=False)
        net = load_generator(quick_runs / model).net.double()
        with torch.no_grad():
            brute = -chain_rule_log_prob(net, test).numpy()
        # float32 network in nll against float64 here: 1e-4 nats on ~20.
        assert abs(result.nll - brute.mean()) < 1e-4
        assert abs(result.nll_se - brute.std(ddof=1) / math.sqrt(150)) < 1e-4
        assert abs(result.bits_per_dim - result.nll / (64 * math.log(2))) < 1e-12


def test_independent_pixel_baseline_is_add_one_frequencies():
    train_images = torch.tensor([[0, 1], [0, 1], [1, 1]])
    test_images = torch.tensor([[1, 0]])
    # p(pixel 0 = 1) = (1 + 1) / (3 + 2); p(pixel 1 = 0) = (0 + 1) / (3 + 2)
    expected = -(math.log(2 / 5) + math.log(1 / 5))
    assert independent_pixel_nll(train_images, test_images, 2)[0] == pytest.approx(expected, abs=1e-12)


def test_digits_binary_rule_and_dynamic_binarisation():
    from sklearn.datasets import load_digits as sklearn_digits

    data = open_training_data("digits-binary")
    values = sklearn_digits().images[:1497]
    assert data.images.shape == (1497, 1, 8, 8) and set(data.images.unique().tolist()) == {0, 255}
    assert np.array_equal(data.images[:, 0].numpy() == 255, values >= 8)  # the stated rule: value >= 8 of 16
    dynamic = open_training_data("digits-binary-dynamic")
    a, b, again = dynamic.batch(0, 0, 64)[0], dynamic.batch(0, 1, 64)[0], dynamic.batch(0, 0, 64)[0]
    assert set(a.unique().tolist()) == {-1.0, 1.0} and torch.equal(a, again)
    first_epoch = dynamic.batch(0, 1497 // 64 * 0, 64)[0]
    assert torch.equal(first_epoch, a) and not torch.equal(a, b)
    # The same image, met in another epoch, is binarised afresh: batch 0 of seed 0 vs the batch holding
    # those rows in epoch 2 differ somewhere (their grey pixels are not all 0 or 255).
    grey = dynamic.images[dynamic._permutation(0, 0)[:64]].float() / 255
    fresh = torch.stack([dynamic.batch(0, i, 64)[0] for i in range(2, 6)])
    assert ((grey > 0) & (grey < 1)).any() and not all(torch.equal(f, a) for f in fresh)


def test_mnist_binary_names_binarise_as_stated(monkeypatch):
    import genmetrics.trainers.data as data_module

    grey = torch.randint(0, 256, (50, 1, 28, 28), generator=torch.Generator().manual_seed(0)).to(torch.uint8)
    monkeypatch.setattr(data_module, "load_torchvision",  # no MNIST here: stand-in grey images
                        lambda name, root, size, split="train": (grey, torch.zeros(50, dtype=torch.long)))
    static, again = open_training_data("mnist-binary"), open_training_data("mnist-binary")
    assert static.images.shape == (50, 1, 28, 28) and set(static.images.unique().tolist()) == {0, 255}
    assert torch.equal(static.images, again.images) and not static.dynamic  # one draw, the same every time
    # Bernoulli(intensity / 255): the fraction of on pixels matches the mean intensity (39,200 pixels,
    # standard error 0.0025; tolerance 0.01), and brighter pixels are on more often.
    on = static.images == 255
    assert abs(on.float().mean().item() - grey.float().mean().item() / 255) < 0.01
    assert on[grey > 200].float().mean() > 0.75 and on[grey < 50].float().mean() < 0.25
    dynamic = open_training_data("mnist-binary-dynamic")
    assert dynamic.dynamic and torch.equal(dynamic.images, grey)  # grey kept; each batch draws afresh


def test_resumed_vae_on_dynamic_digits_equals_uninterrupted(tmp_path):
    options = dict(FAST, g_width=16, z_dim=4, batch_size=20, steps=6)
    train("vae", "digits-binary-dynamic", tmp_path / "whole", progress=False, **options)
    train("vae", "digits-binary-dynamic", tmp_path / "split", max_steps=3, progress=False, **options)
    train(None, None, tmp_path / "split", resume=True, progress=False)
    whole, split = (torch.load(tmp_path / run / "checkpoints" / "latest.pt", weights_only=True)
                    for run in ("whole", "split"))
    for key, value in whole["generator"].items():
        torch.testing.assert_close(value, split["generator"][key], rtol=0, atol=1e-6)  # as test_train's
    assert whole["opt_d"] == {} and whole["discriminator"] == {}


def test_grey_level_models_score_8_bit_digits(tmp_path):
    # The VAE's discretised logistic and the PixelCNN's 256-way softmax on grey digits (17 levels stored as
    # 8-bit intensities) at 16x16: a few steps, then nll in 256-level units.
    for model, extra in (("vae", dict(g_width=16, z_dim=4)), ("pixelcnn", dict(g_width=8, g_depth=1))):
        run = tmp_path / model
        train(model, "digits", run, progress=False, steps=3, batch_size=16, image_size=16, **FAST, **extra)
        result = negative_log_likelihood(run, k=5, n=10, progress=False)
        assert result.levels == 256 and result.dim == 256 and "256-level pixels" in result.convention
        # below uniform guessing over 256 levels (256 ln 256 = 1419.6 nats), above 0
        assert 0 < result.nll < 256 * math.log(256) and result.baseline_nll < 256 * math.log(256)
        images, _ = load_generator(run).sample(3)
        assert images.shape == (3, 1, 16, 16)


def test_aae_trains_samples_and_is_refused_by_nll(tmp_path):
    train("aae", "digits-binary", tmp_path / "aae", progress=False, steps=3,
          **dict(FAST, g_width=16, d_width=16, batch_size=16))
    images, _ = load_generator(tmp_path / "aae").sample(5)
    assert images.shape == (5, 1, 8, 8) and images.min() >= -1 and images.max() <= 1
    with pytest.raises(GenmetricsError, match="no tractable likelihood.*parzen"):
        negative_log_likelihood(tmp_path / "aae", progress=False)


def test_cli_nll_json_and_errors(quick_runs, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["nll", str(quick_runs / "vae"), "-k", "20", "-n", "30", "--json", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["k"] == 20 and report["n"] == 30 and report["exact"] is False
    assert "dequantised" in report["convention"] and report["binarization"].startswith("pixel = 1 where")
    text = runner.invoke(cli, ["nll", str(quick_runs / "nade"), "-q"]).stdout
    assert "nats/image" in text and "bits/dim" in text and "independent pixels" in text
    exported = runner.invoke(cli, ["data", "digits-binary", "--split", "test", "-o", str(tmp_path / "t.npz")])
    assert exported.exit_code == 0, exported.output
    with np.load(tmp_path / "t.npz") as arrays:
        assert arrays["images"].shape == (150, 8, 8, 1) and set(np.unique(arrays["images"])) == {0, 255}
    same = runner.invoke(cli, ["nll", str(quick_runs / "nade"), "--data", str(tmp_path / "t.npz"), "--json", "-q"])
    assert json.loads(same.stdout)["nll"] == pytest.approx(json.loads(
        runner.invoke(cli, ["nll", str(quick_runs / "nade"), "--json", "-q"]).stdout)["nll"], abs=1e-6)
    points = np.random.default_rng(0).random((20, 4))
    np.save(tmp_path / "a.npy", points[:10])
    np.save(tmp_path / "b.npy", points[10:])
    parzen = runner.invoke(cli, ["parzen", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--sigma", "0.5", "-q"])
    assert parzen.exit_code == 0 and "docs/likelihood.md" in parzen.stdout  # where it is held against the truth
    for args, message in [(["nll", str(quick_runs / "nade"), "--data", "digits"], "binary pixels"),
                          (["train", "nade", "--data", "digits", "--out", str(tmp_path / "x")], "binary pixels"),
                          (["train", "vae", "--data", "ring8", "--out", str(tmp_path / "y")], "2-D points"),
                          (["nll", str(quick_runs / "nade"), "--data", "digits-binary", "--split", "holdout"],
                           "splits")]:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)

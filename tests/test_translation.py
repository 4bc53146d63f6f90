"""Image-to-image translation (issue 16): the digits domains, paired and unpaired data, the paired scores
(L1, PSNR, SSIM against scikit-image), content accuracy, and the translation families' tiny runs (resume
equals an uninterrupted run; translate; eval-translation).

Tiny runs: 16x16 digits, networks 4 channels wide, batch 4, 3 steps. One torch thread (as
test_likelihood.py): on a shared two-core machine two threads of tiny ops cost several times more than one.
"""
import json

import numpy as np
import pytest
import torch

from genmetrics import GenmetricsError
from genmetrics.metrics.translation import CANONICAL, content_accuracy, l1_distance, psnr, ssim_per_image
from genmetrics.trainers import train
from genmetrics.trainers.translation_data import (DOMAINS, domain_split, open_translation_data, unpaired_parts)

from .helpers import one_thread  # noqa: F401 (autouse: this module runs on one torch thread)
from .helpers import run as run_cli
from .test_train import assert_same_weights, states

pytest.importorskip("sklearn")  # digits come from scikit-learn



TINY = dict(image_size=16, g_width=4, d_width=4, batch_size=4, sample_every=0, checkpoint_every=0, log_every=1,
            device="cpu")


def test_domains_are_the_documented_transforms_of_the_same_digits():
    grey, labels = domain_split("digits", "test")
    inverted, thick, turned, colour = (domain_split(d, "test")[0] for d in
                                       ("digits-inverted", "digits-thick", "digits-rot90", "digits-colour"))
    assert torch.equal(inverted, 255 - grey)
    assert torch.equal(torch.rot90(turned, -1, (2, 3)), grey)
    assert (thick >= grey).all() and thick.float().mean() > 1.25 * grey.float().mean()  # dilated: 30% more ink
    assert colour.shape == (150, 3, 32, 32)
    # one colour per class: the brightest pixel of a 0 has the tab10 blue's channel ratios
    zero = colour[labels == 0][0].flatten(1)
    brightest = zero[:, zero.sum(0).argmax()].float()
    assert torch.allclose(brightest / brightest.max(), torch.tensor([31, 119, 180.]) / 180, atol=0.02)


def test_unpaired_split_never_shows_a_source_digit_in_two_domains():
    parts = unpaired_parts(1497, 2)
    assert len(set(parts[0].tolist()) & set(parts[1].tolist())) == 0
    assert sorted(torch.cat(parts).tolist()) == list(range(1497))
    paired = open_translation_data("digits,digits-inverted", 16, "paired")
    unpaired = open_translation_data("digits,digits-inverted", 16, "unpaired")
    x, labels = paired.batch(0, 5, 8)
    a, b = x.chunk(2, dim=1)
    assert torch.allclose(b, -a, atol=1e-6) and torch.equal(labels[:, 0], labels[:, 1])  # the same digits, inverted
    x2, _ = paired.batch(0, 5, 8)
    assert torch.equal(x, x2)  # a function of (seed, batch)
    assert unpaired.n_train == 749 and len(unpaired.sets[1]) == 748
    a, b = unpaired.batch(0, 0, 64)[0].chunk(2, dim=1)
    assert not torch.allclose(b, -a, atol=1e-6)


def test_data_command_writes_paired_domains_by_file_name(tmp_path):
    code, out, err = run_cli("data", "digits,digits-rot90", "--split", "test", "-n", "3", "-o", tmp_path / "pairs",
                             "--json")
    assert code == 0, err
    files = [sorted(p.name for p in (tmp_path / "pairs" / d).iterdir()) for d in ("digits", "digits-rot90")]
    assert files[0] == files[1] == ["000000.png", "000001.png", "000002.png"]
    code, out, err = run_cli("data", "digits,digits-thick", "--unpaired", "-n", "3", "-o", tmp_path / "apart")
    assert code == 0, err
    names = [{p.name for p in (tmp_path / "apart" / d).iterdir()} for d in ("digits", "digits-thick")]
    assert len(names[0]) == len(names[1]) == 3 and not names[0] & names[1]  # no file pairs with another
    code, out, err = run_cli("data", "digits-thick", "--split", "valid", "-o", tmp_path / "thick.npz")
    assert code == 0, err
    with np.load(tmp_path / "thick.npz") as data:
        assert data["images"].shape == (150, 32, 32, 1) and data["labels"].shape == (150,)
    code, out, err = run_cli("data", "digits,digits-wavy", "-o", tmp_path / "x")
    assert code == 2 and "unknown domain 'digits-wavy'" in err


def test_user_folders_pair_by_file_name_and_name_the_unmatched_file(tmp_path):
    from genmetrics.testing import synthetic_images, write_image_folder

    write_image_folder(tmp_path / "a", synthetic_images(3, size=16, seed=1))
    write_image_folder(tmp_path / "b", synthetic_images(3, size=16, seed=2))
    data = open_translation_data(f"{tmp_path / 'a'},{tmp_path / 'b'}", None, "paired")
    assert [s.shape for s in data.sets] == [(3, 3, 16, 16)] * 2 and data.num_classes is None
    (tmp_path / "b" / sorted(p.name for p in (tmp_path / "b").iterdir())[0]).rename(tmp_path / "b" / "other.png")
    with pytest.raises(GenmetricsError, match=r"has no file of the same name in .*b"):
        open_translation_data(f"{tmp_path / 'a'},{tmp_path / 'b'}", None, "paired")
    assert len(open_translation_data(f"{tmp_path / 'a'},{tmp_path / 'b'}", None, "unpaired").sets[1]) == 3


def test_l1_psnr_ssim_equal_scikit_image():
    skimage = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    for channels in (1, 3):
        a = rng.integers(0, 256, (3, 32, 24, channels), dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-60, 60, a.shape), 0, 255).astype(np.uint8)
        ours = ssim_per_image(a, b).numpy()
        theirs = [skimage.structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                data_range=255, channel_axis=-1) for x, y in zip(a, b)]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)  # float64 both: round-off only
        assert psnr(a, b) == pytest.approx(np.mean([skimage.peak_signal_noise_ratio(x, y, data_range=255)
                                                    for x, y in zip(a, b)]), abs=1e-10)
        assert l1_distance(a, b) == pytest.approx(np.abs(a.astype(float) - b).mean() / 255, abs=1e-12)
    assert ssim_per_image(a, a).tolist() == [1.0] * 3 and psnr(a, a) == float("inf")
    with pytest.raises(GenmetricsError, match="paired sets"):
        l1_distance(a, a[:2])


def test_paired_scores_through_eval(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=a)
    np.savez(tmp_path / "b.npz", images=255 - a)
    code, out, err = run_cli("eval", tmp_path / "a.npz", tmp_path / "b.npz", "--metrics", "l1,psnr,ssim", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["l1"] == pytest.approx(l1_distance(a, 255 - a)) and result["ssim"] < 0.5


def test_identity_content_accuracy_is_the_classifier_accuracy_in_every_canonical_view():
    from genmetrics.features.digits import TEST_ACCURACY

    grey, labels = domain_split("digits", "test")
    assert content_accuracy(grey, labels, "digits") == pytest.approx(TEST_ACCURACY)
    for domain in set(DOMAINS) - {"digits-thick"}:  # exact inverses: the same images reach the classifier
        images, _ = domain_split(domain, "test")
        assert content_accuracy(images, labels, domain) == pytest.approx(TEST_ACCURACY), domain
    assert set(CANONICAL) == set(DOMAINS)


def test_pix2pix_resumes_to_the_same_weights_translates_and_scores(tmp_path):
    options = dict(TINY, lr_decay="half-linear")
    train("pix2pix", "digits,digits-thick", tmp_path / "whole", steps=3, progress=False, **options)
    first = train("pix2pix", "digits,digits-thick", tmp_path / "split", steps=3, max_steps=1, progress=False, **options)
    assert first.stopped_early
    train(None, None, tmp_path / "split", resume=True, progress=False)
    assert_same_weights(states(tmp_path / "whole"), states(tmp_path / "split"))
    assert (tmp_path / "whole" / "samples" / "step_000003.png").is_file()  # input, output, target rows
    code, out, err = run_cli("translate", tmp_path / "whole", "digits", "-o", tmp_path / "t.npz", "--json")
    assert code == 0, err
    with np.load(tmp_path / "t.npz") as data:
        assert data["images"].shape == (150, 16, 16, 1) and data["labels"].shape == (150,)
    code, out, err = run_cli("eval-translation", tmp_path / "whole", "--json", "-q", "--no-baselines")
    assert code == 0, err
    result = json.loads(out)
    (row,) = result["directions"][0]["rows"]  # the baselines' rows (identity, ground truth) are left out
    assert row["row"] == "pix2pix" and result["directions"][0]["to"] == "digits-thick"
    assert all(np.isfinite(row[k]) for k in ("fid", "kid", "l1", "psnr", "ssim", "content_accuracy"))
    translated = np.load(tmp_path / "t.npz")
    truth, labels = domain_split("digits-thick", "test", 16)
    assert row["l1"] == pytest.approx(l1_distance(truth.permute(0, 2, 3, 1).numpy(), translated["images"]))
    assert row["content_accuracy"] == content_accuracy(translated["images"], labels, "digits-thick")


UNPAIRED = {"cyclegan": dict(g_blocks=1), "discogan": {}, "stargan": dict(g_blocks=1, n_critic=2)}
DOMAINS_OF = {"stargan": "digits,digits-inverted,digits-rot90"}


@pytest.mark.parametrize("model", sorted(UNPAIRED))
def test_unpaired_models_resume_to_the_same_weights_and_translate_both_ways(tmp_path, model):
    from genmetrics.trainers.translate import load_translator

    options = dict(TINY, lr_decay="half-linear", **UNPAIRED[model])
    data = DOMAINS_OF.get(model, "digits,digits-inverted")
    train(model, data, tmp_path / "whole", steps=3, progress=False, **options)
    train(model, data, tmp_path / "split", steps=3, max_steps=2, progress=False, **options)
    train(None, None, tmp_path / "split", resume=True, progress=False)
    whole, split = states(tmp_path / "whole"), states(tmp_path / "split")
    assert_same_weights(whole, split)
    for key, value in whole["family_state"].items():  # cyclegan's image history
        assert torch.equal(value, split["family_state"][key]), key
    assert (tmp_path / "whole" / "samples" / "step_000003.png").is_file()
    translator = load_translator(tmp_path / "whole", device="cpu")
    x = torch.zeros(2, 1, 16, 16)
    assert translator(x, 0, 1).shape == translator(x, 1, 0).shape == (2, 1, 16, 16)
    if model == "stargan":  # one generator for every pair of the 3 domains, conditioned on the target
        assert len(translator.net.directions()) == 6


def test_stargan_output_depends_on_the_target_domain():
    """The target's one-hot planes are constant: after a reflection-padded first convolution instance norm
    removed them exactly (two targets' outputs 3e-6 apart, float noise). Zero padding (StarGAN's Table 4)
    keeps them: the outputs differ by a visible amount, in the middle of the image too."""
    from genmetrics.trainers.stargan import StarGenerator

    torch.manual_seed(0)
    g, x = StarGenerator(1, 3, 8, 1, 16), torch.randn(4, 1, 16, 16)
    outputs = [g(x, torch.full((4,), t, dtype=torch.long)) for t in range(3)]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert (outputs[a] - outputs[b])[..., 4:12, 4:12].abs().max() > 1e-2, (a, b)


def test_discogan_generator_is_the_official_layout():
    """SKTBrain/DiscoGAN model.py, Generator(extra_layers=False) at 64 px, 3 channels: C64-C128(BN)-C256(BN)-
    C512(BN) down to 4x4, D256-D128-D64 (BN) and D3 up, 4x4 kernels, no biases. Its parameter count, from
    those layers, is the check: the earlier 1x1 bottleneck with instance norm on 2x2 maps collapsed on digits."""
    from genmetrics.trainers.translation_nets import encoder_decoder

    convs = [(3, 64), (64, 128), (128, 256), (256, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    batch_norms = [128, 256, 512, 256, 128, 64]
    official = sum(a * b * 16 for a, b in convs) + sum(2 * c for c in batch_norms)
    net = encoder_decoder(3, 3, 64, 64)
    assert sum(p.numel() for p in net.parameters()) == official
    small, x = encoder_decoder(1, 1, 32, 16), torch.randn(2, 1, 32, 32)
    assert small(x).shape == (2, 1, 32, 32)
    assert small[:8](x).shape == (2, 64, 4, 4)  # three stride-2 convolutions (16, 32, 64 channels): 32 px -> 4


def test_cyclegan_history_fills_then_swaps_half_the_time():
    from genmetrics.trainers.cyclegan import query_pool

    gen = torch.Generator().manual_seed(0)
    pool = torch.zeros(0, 1, 2, 2)
    shown, pool = query_pool(pool, torch.arange(3.).view(3, 1, 1, 1).expand(3, 1, 2, 2), 3, gen)
    assert len(pool) == 3 and torch.equal(shown, pool)  # filling: the new images are shown
    new = torch.full((400, 1, 2, 2), 9.0)
    shown, pool = query_pool(pool, new, 3, gen)
    swapped = (shown[:, 0, 0, 0] != 9).sum().item()
    assert 3 <= swapped <= 200 + 3 * 20  # a stored image is shown about half the time (only 3 old ones exist)
    assert (pool == 9).all()  # and the new images took their place


def test_translation_models_and_data_refuse_each_other(tmp_path):
    with pytest.raises(GenmetricsError, match="translates between domains"):
        train("pix2pix", "digits", tmp_path / "a", steps=1, progress=False, **TINY)
    with pytest.raises(GenmetricsError, match="translation data"):
        train("dcgan", "digits,digits-thick", tmp_path / "b", steps=1, progress=False, **TINY)
    with pytest.raises(GenmetricsError, match="power of 2"):
        train("pix2pix", "digits,digits-thick", tmp_path / "c", steps=1, progress=False, **{**TINY, "image_size": 24})
    code, out, err = run_cli("translate", tmp_path / "nothing", "digits", "-o", tmp_path / "o")
    assert code == 2
    train("pix2pix", "digits,digits-thick", tmp_path / "p", steps=1, progress=False, **TINY)
    code, out, err = run_cli("sample", tmp_path / "p", "-n", "2", "-o", tmp_path / "s.npz")
    assert code == 2 and "genmetrics translate" in err


def test_eval_translation_on_user_folders_pairs_them_by_file_name(tmp_path):
    from genmetrics.testing import write_image_folder
    from genmetrics.trainers.translation_eval import evaluate_translation

    train("pix2pix", "digits,digits-thick", tmp_path / "p", steps=1, progress=False, **TINY)
    for domain, folder in (("digits", "a"), ("digits-thick", "b")):
        write_image_folder(tmp_path / folder, domain_split(domain, "test", 16)[0][:6, 0].numpy())
    result = evaluate_translation(tmp_path / "p", f"{tmp_path / 'a'},{tmp_path / 'b'}", extractor="digits",
                                  device="cpu")
    rows = {r["row"]: r for r in result["directions"][0]["rows"]}
    assert rows["ground truth"]["l1"] == 0 and rows["ground truth"]["fid"] == pytest.approx(0, abs=1e-6)
    thick = domain_split("digits-thick", "test", 16)[0][:6].permute(0, 2, 3, 1).numpy()
    digits = domain_split("digits", "test", 16)[0][:6].permute(0, 2, 3, 1).numpy()
    assert rows["identity"]["l1"] == pytest.approx(l1_distance(thick, digits))
    assert "content_accuracy" not in rows["pix2pix"]  # user folders carry no labels

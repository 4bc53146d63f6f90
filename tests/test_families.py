"""The families of issue 14 (cgan, sgan, infogan, ebgan, began, progan): a few steps on 16x16 digits,
resume equal to an uninterrupted run, sampling, and each family's own measure on closed-form cases.

Tiny runs reuse tests/test_train.py's settings (16x16 digits, networks 8 channels wide, batch 10).
"""
import json

import numpy as np
import pytest
import torch

from genmetrics import GenmetricsError, load_generator
from genmetrics.trainers import train
from genmetrics.trainers.measures import class_fid, cluster_accuracy

from .helpers import run as run_cli
from .test_train import TINY_IMAGE, TINY_TOY, assert_same_weights, states

pytest.importorskip("sklearn")  # digits come from scikit-learn
pytest.importorskip("scipy")

NEW = ["cgan", "sgan", "infogan", "ebgan", "began", "progan"]
EXTRA = {"sgan": dict(labels=20), "ebgan": dict(ae_code=8), "began": dict(ae_code=8)}  # keep smoke runs tiny


def tiny(model: str, kind: str = "image", **extra) -> dict:
    base = TINY_IMAGE if kind == "image" else TINY_TOY
    return {**base, "batch_size": 10, **EXTRA.get(model, {}), **extra}


@pytest.mark.parametrize("model", NEW)
def test_resumed_run_equals_uninterrupted_and_samples(tmp_path, model):
    options = tiny(model, lr_decay="linear")
    whole = train(model, "digits", tmp_path / "whole", steps=3, progress=False, **options)
    first = train(model, "digits", tmp_path / "split", steps=3, max_steps=1, progress=False, **options)
    assert first.stopped_early and first.measures is None  # an interruption measures nothing
    split = train(None, None, tmp_path / "split", resume=True, progress=False)
    assert_same_weights(states(tmp_path / "whole"), states(tmp_path / "split"))
    assert states(tmp_path / "whole")["family_state"] == states(tmp_path / "split")["family_state"]
    averages = [states(tmp_path / name).get("generator_ema") for name in ("whole", "split")]
    assert (averages[0] is not None) == (model == "progan")  # progan samples from G's moving average
    for key in averages[0] or {}:  # the same tolerance as assert_same_weights
        torch.testing.assert_close(averages[0][key], averages[1][key], rtol=0, atol=1e-6, msg=key)
    logs = [[json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
            for name in ("whole", "split")]
    assert [r.get("losses") for r in logs[0]] == [r.get("losses") for r in logs[1]]
    assert whole.measures == split.measures
    assert (tmp_path / "whole" / "samples" / "step_000003.png").is_file()
    code, out, err = run_cli("sample", tmp_path / "whole", "-n", "5", "-o", tmp_path / "s.npz", "--json")
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as data:
        assert data["images"].shape == (5, 16, 16, 1)


def test_cgan_conditions_both_networks_and_samples_one_class(tmp_path):
    train("cgan", "digits", tmp_path / "run", steps=1, progress=False, **tiny("cgan"))
    generator = load_generator(tmp_path / "run")
    images, labels = generator.sample(4, class_index=7)
    assert labels.tolist() == [7] * 4 and images.shape == (4, 1, 16, 16)
    payload = states(tmp_path / "run")
    # D's first conv sees 1 image channel + 10 one-hot planes; it outputs one score (no class head).
    first = next(v for k, v in payload["discriminator"].items() if k.endswith("weight"))
    assert first.shape[1] == 11
    last = [v for k, v in payload["discriminator"].items() if k.endswith("weight")][-1]
    assert last.shape[0] == 1


def test_class_fid_is_zero_for_the_real_images_and_positive_for_other_classes():
    from genmetrics.features.registry import register_extractor

    # A fixed extractor: 4x4 average pooling of the [0, 1] image (48 features), no weights.
    register_extractor("_pool4", lambda device, weights: (lambda x: torch.nn.functional.adaptive_avg_pool2d(
        x, 4).flatten(1)), size=16, normalize="unit", override=True)
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (120, 1, 16, 16), generator=gen, dtype=torch.uint8)
    images[60:] //= 4  # class 1 is darker than class 0
    labels = torch.tensor([0] * 60 + [1] * 60)

    def replay(swap):  # "samples" of class c are the real images of class c (or of the other class)
        return lambda c: images[labels == (1 - c if swap else c)].float() / 127.5 - 1

    same = class_fid(replay(False), 2, images, labels, extractor="_pool4")
    other = class_fid(replay(True), 2, images, labels, extractor="_pool4")
    # Identical sets: FID 0 up to sqrtm's float64 error (1e-6 on values of order 1e-3..1e2).
    assert set(same) == {"0", "1"} and max(abs(v) for v in same.values()) < 1e-6
    assert min(other.values()) > 1.0


def test_cgan_reports_per_class_fid_with_the_class_extractor(tmp_path, monkeypatch):
    import genmetrics.trainers.cgan as cgan
    from genmetrics.features.registry import register_extractor

    register_extractor("_pool4", lambda device, weights: (lambda x: torch.nn.functional.adaptive_avg_pool2d(
        x, 4).flatten(1)), size=16, normalize="unit", override=True)
    monkeypatch.setattr(cgan, "CLASS_FID_EXTRACTOR", "_pool4")  # the digits classifier's place
    monkeypatch.setattr(cgan, "PER_CLASS_N", 20)
    result = train("cgan", "digits", tmp_path / "run", steps=1, progress=False, **tiny("cgan"))
    fids = result.measures["class_fid"]
    assert sorted(fids, key=int) == [str(c) for c in range(10)] and all(v > 0 for v in fids.values())
    assert result.measures["class_fid_mean"] == pytest.approx(np.mean(list(fids.values())))


def test_cluster_accuracy_matches_clusters_to_classes_one_to_one():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy([2, 2, 0, 0, 1, 1], labels) == 1.0  # a relabelling is perfect
    assert cluster_accuracy([0, 0, 0, 0, 0, 0], labels) == pytest.approx(1 / 3)  # one cluster, one class
    assert cluster_accuracy([0, 1, 1, 2, 2, 0], labels) == pytest.approx(1 / 2)


def test_families_refuse_data_they_cannot_train_on(tmp_path):
    from genmetrics.testing import synthetic_images, write_image_folder

    write_image_folder(tmp_path / "flat", synthetic_images(4, size=16, seed=3))
    with pytest.raises(GenmetricsError, match="class labels"):
        train("cgan", str(tmp_path / "flat"), tmp_path / "r", steps=1, progress=False, **tiny("cgan"))


def test_sgan_unsupervised_loss_is_the_k_plus_1_softmax_with_the_fake_logit_at_zero():
    from genmetrics.trainers.sgan import unsupervised_loss

    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, 10, generator=gen) * 3, torch.randn(6, 10, generator=gen) * 3
    zero = torch.zeros(6, 1)
    p_fake_of_real = torch.softmax(torch.cat([real, zero], 1), 1)[:, -1]
    p_fake_of_fake = torch.softmax(torch.cat([fake, zero], 1), 1)[:, -1]
    expected = 0.5 * -(1 - p_fake_of_real).log().mean() + 0.5 * -p_fake_of_fake.log().mean()
    torch.testing.assert_close(unsupervised_loss(real, fake), expected, rtol=1e-6, atol=0)  # float32 rounding
    # Logits all log(1/K): Z = 1, D(x) = 1/2 on both: the loss is ln 2.
    flat = torch.full((4, 10), float(np.log(0.1)))
    assert unsupervised_loss(flat, flat).item() == pytest.approx(np.log(2), rel=1e-6)


def test_sgan_reads_only_the_n_labels(tmp_path):
    from genmetrics.trainers import prepare
    from genmetrics.trainers.state import TrainingState
    from genmetrics.trainers.sgan import labelled_set

    config, data, _ = prepare("sgan", "digits", tmp_path / "r", **tiny("sgan", steps=3))
    runs = []
    for scramble in (False, True):
        state = TrainingState(config, data, torch.device("cpu"))
        x, y = labelled_set(state)
        assert len(y) == 20 and torch.bincount(y, minlength=10).tolist() == [2] * 10  # balanced
        if scramble:  # every other label is wrong now: training must not notice
            state.data = type(data)(data.name, data.kind, data.images, torch.zeros_like(data.labels), 10)
        for _ in range(3):
            state.train_step()
        runs.append({k: v.clone() for k, v in state.D.state_dict().items()})
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert state.D(x[:2]).shape == (2, 10)  # K logits: no column for the fake class


def test_sgan_reports_accuracy_beside_the_labels_only_classifier(tmp_path):
    result = train("sgan", "digits", tmp_path / "run", steps=2, progress=False, **tiny("sgan"))
    m = result.measures
    assert m["labels"] == 20 and m["n_test"] == 150 and m["held_out"] == "digits test split"
    assert 0 <= m["test_accuracy"] <= 1 and 0 <= m["labels_only_accuracy"] <= 1
    final = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert final["family"] == m
    with pytest.raises(GenmetricsError, match="--labels 5"):
        train("sgan", "digits", tmp_path / "bad", steps=1, progress=False, **tiny("sgan", labels=5))
    code, out, err = run_cli("train", "sgan", "--data", "digits", "--out", tmp_path / "d", "--labels", "30",
                             "--dry-run")
    assert code == 0 and json.loads(out)["labels"] == 30


def test_infogan_information_bound_is_ln_k_for_a_perfect_q_and_zero_for_a_uniform_one():
    from types import SimpleNamespace

    from genmetrics.trainers.infogan import information_terms

    config = SimpleNamespace(info_categories=10, info_continuous=2)
    codes = torch.arange(20) % 10
    cont = torch.rand(20, 2) * 2 - 1
    perfect = torch.cat([torch.zeros(20, 1), 50 * torch.nn.functional.one_hot(codes, 10).float(), cont], 1)
    mi_cat, mi_cont = information_terms(config, perfect, codes, cont)
    assert mi_cat.item() == pytest.approx(np.log(10), abs=1e-6)  # exp(-50) terms vanish in float32
    # Q's mean exactly right: ln 2 - ln sqrt(2 pi) per code (a fixed-variance Gaussian cannot do better).
    assert mi_cont.item() == pytest.approx(2 * (np.log(2) - 0.5 * np.log(2 * np.pi)), abs=1e-6)
    uniform = torch.cat([torch.zeros(20, 11), cont], 1)
    assert information_terms(config, uniform, codes, cont)[0].item() == pytest.approx(0.0, abs=1e-6)


def test_infogan_codes_are_uniform_and_sample_code_fixes_them(tmp_path):
    from genmetrics.trainers.infogan import fix_codes_
    from genmetrics.trainers.nets import uniform_codes

    z = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0))
    c = uniform_codes(z, 2)
    # Unif(-1, 1): mean 0, variance 1/3; 4e-3 is about 3 standard errors at n = 200,000.
    assert c.min() >= -1 and c.max() <= 1 and abs(c.mean()) < 4e-3 and abs(c.var() - 1 / 3) < 4e-3
    fixed = uniform_codes(fix_codes_(torch.randn(5, 3), [0.5, None]), 2)
    torch.testing.assert_close(fixed[:, 0], torch.full((5,), 0.5), rtol=0, atol=1e-6)
    train("infogan", "digits", tmp_path / "run", steps=1, progress=False, **tiny("infogan"))
    generator = load_generator(tmp_path / "run")
    assert generator.num_classes == 10 and generator.z_dim == 8
    a, labels = generator.sample(4, seed=1, code="3,-1,1")
    b, _ = generator.sample(4, seed=1, code="3,1,-1")
    assert labels.tolist() == [3] * 4 and not torch.allclose(a, b)
    code, out, err = run_cli("sample", tmp_path / "run", "-n", "3", "-o", tmp_path / "c.npz", "--code", "2,*,0.5")
    assert code == 0, err
    with np.load(tmp_path / "c.npz") as data:
        assert data["labels"].tolist() == [2, 2, 2]
    for bad, fragment in (("12", "0..9"), ("1,2", "[-1, 1]"), ("1,0,0,0", "2 continuous"), ("x", "integer")):
        with pytest.raises(GenmetricsError, match=fragment.replace("[", r"\[").replace(".", r"\.")):
            generator.sample(2, code=bad)


def test_infogan_reports_information_and_cluster_accuracy(tmp_path):
    result = train("infogan", "digits", tmp_path / "run", steps=2, progress=False, **tiny("infogan"))
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["losses"]["mi_categorical"] <= np.log(10) for r in records if "losses" in r)
    m = result.measures
    assert 0 < m["cluster_accuracy"] <= 1 and m["n_test"] == 150 and 1 <= m["categories_used"] <= 10
    code, out, err = run_cli("sample", tmp_path / "run", "-n", "2", "-o", tmp_path / "x.npz", "--code", "1")
    assert code == 0
    with pytest.raises(GenmetricsError, match="--code fixes InfoGAN"):
        train("dcgan", "digits", tmp_path / "dc", steps=1, progress=False, **TINY_IMAGE)
        load_generator(tmp_path / "dc").sample(2, code="1")


def test_ebgan_pull_away_term_closed_form():
    from genmetrics.trainers.ebgan import pull_away

    assert pull_away(torch.eye(4) * 3).item() == pytest.approx(0.0, abs=1e-7)  # orthogonal: no pull
    assert pull_away(torch.ones(5, 3)).item() == pytest.approx(1.0, abs=1e-6)  # one direction: cos^2 = 1
    # Two vectors at 60 degrees (cos = 1/2): both ordered pairs count, mean cos^2 = 1/4.
    s = torch.tensor([[1.0, 0.0], [0.5, 3 ** 0.5 / 2]])
    assert pull_away(s).item() == pytest.approx(0.25, abs=1e-6)


def test_ebgan_uses_an_autoencoder_and_the_margin(tmp_path):
    from genmetrics.trainers.autoencoder import AutoencoderNet, reconstruction_error

    train("ebgan", "digits", tmp_path / "run", steps=2, progress=False, **tiny("ebgan"))
    records = [json.loads(line)["losses"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for r in records:  # loss_d = E(x) + max(0, m - E(G(z))) with m = 1
        assert r["loss_d"] == pytest.approx(r["energy_real"] + max(0.0, 1.0 - r["energy_fake"]), rel=1e-5)
        assert 0 <= r["pull_away"] <= 1
    net = AutoencoderNet(torch.nn.Identity(), torch.nn.Identity(), (1, 2, 2))
    assert reconstruction_error(net, torch.randn(3, 1, 2, 2), 2).abs().max() == 0  # a perfect autoencoder


def test_began_k_control_and_convergence_measure_follow_the_paper(tmp_path):
    # lambda_k = 10 makes k_t reach its clip at 1 within two steps (the fakes' error starts far below gamma L(x)).
    train("began", "digits", tmp_path / "run", steps=3, progress=False, **tiny("began", lambda_k=10.0))
    records = [json.loads(line)["losses"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    k = 0.0
    for r in records:
        balance = 0.5 * r["loss_real"] - r["loss_g"]
        k = min(max(k + 10.0 * balance, 0.0), 1.0)
        assert r["k"] == pytest.approx(k, abs=1e-9)
        assert r["m_global"] == pytest.approx(r["loss_real"] + abs(balance), abs=1e-9)
    assert records[-1]["k"] == 1.0
    assert states(tmp_path / "run")["family_state"] == {"k": 1.0}


def test_progan_grows_from_4x4_with_fade_ins():
    from types import SimpleNamespace

    from genmetrics.trainers.progan import level_at

    config = SimpleNamespace(image_size=16, native_size=0, steps=10, batch_size=4, phase_images=None)  # 5 phases
    assert [level_at(s, config) for s in range(10)] == [0, 0, 0, 0.5, 1, 1, 1, 1.5, 2, 2]
    fixed = SimpleNamespace(image_size=16, native_size=0, steps=100, batch_size=4, phase_images=8)  # 2 steps a phase
    assert level_at(3, fixed) == 0.5 and level_at(99, fixed) == 2
    native = SimpleNamespace(image_size=32, native_size=8, steps=6, batch_size=4, phase_images=None)  # 4 -> 8 only
    assert [level_at(s, native) for s in range(6)] == [0, 0, 0, 0.5, 1, 1]


def test_progan_fade_in_is_continuous_and_reals_match_the_level():
    from genmetrics.trainers import prepare
    from genmetrics.trainers.state import TrainingState
    from genmetrics.trainers.progan import minibatch_stddev, process_reals

    config, data, _ = prepare("progan", "digits", "unused", **tiny("progan", steps=10, native_size=0))  # grow to 16
    state = TrainingState(config, data, torch.device("cpu"))
    z = torch.randn(4, config.z_dim)
    with torch.no_grad():
        state.G.level.fill_(1.0)
        stable = state.G(z)
        state.G.level.fill_(1.0 + 1e-6)  # the 16x16 layers just start to fade in
        fading = state.G(z)
        state.G.level.fill_(0.0)
        coarse = state.G(z)
    assert stable.shape == (4, 1, 16, 16)
    torch.testing.assert_close(fading, stable, rtol=0, atol=1e-4)  # alpha 1e-6 times outputs of order 1
    assert torch.equal(coarse, coarse[..., ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3))  # 4x4 blocks
    real = torch.rand(2, 1, 16, 16)
    assert torch.equal(process_reals(real, 2.0), real)
    pooled = torch.nn.functional.avg_pool2d(real, 4).repeat_interleave(4, 2).repeat_interleave(4, 3)
    torch.testing.assert_close(process_reals(real, 0.0), pooled, rtol=0, atol=1e-6)
    same = minibatch_stddev(torch.ones(8, 3, 4, 4))
    assert same.shape == (8, 4, 4, 4) and same[:, 3].max() < 1e-3  # identical samples: std sqrt(1e-8)


def test_progan_equalised_learning_rate_and_sizes(tmp_path):
    from genmetrics.trainers.progan import EqualConv

    layer = EqualConv(256, 64, 3)
    assert layer.weight.std().item() == pytest.approx(1.0, abs=0.02)  # N(0, 1) storage
    assert layer.scale == pytest.approx(np.sqrt(2 / (256 * 9)))       # He's constant at run time
    with pytest.raises(GenmetricsError, match="4x4 by doubling.*--image-size"):
        train("progan", "digits", tmp_path / "r", steps=1, progress=False, **tiny("progan", image_size=28,
                                                                                 native_size=0))
    with pytest.raises(GenmetricsError, match="4x4 by doubling.*native_size"):
        train("progan", "digits", tmp_path / "n", steps=1, progress=False, **tiny("progan", image_size=28,
                                                                                 native_size=12))
    with pytest.raises(GenmetricsError, match="image data"):
        train("progan", "ring8", tmp_path / "t", steps=1, progress=False, **tiny("progan", kind="toy"))

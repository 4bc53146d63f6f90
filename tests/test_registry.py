"""The metric registry: every metric complete and reachable, one more metric in one place, clear errors.

No network runs here: eval reads stored features, the sweep's and the trainers' feature passes are replaced
by stored random features (what they feed ``scores`` is what this checks, not the extractor).
"""
import importlib

import numpy as np
import pytest
import torch

from genmetrics import GenmetricsError
from genmetrics.defaults import option_source
from genmetrics.features.compute import Features, save_features
from genmetrics.metrics import registry
from genmetrics.metrics.evaluate import evaluate
from genmetrics.metrics.kid import kernel_inception_distance
from genmetrics.metrics.prdc import prdc
from genmetrics.metrics.registry import GENERATED_FEATURES, REFERENCE_STATISTICS, Key, register_metric
from genmetrics.metrics.result import KIDResult, MetricResult, PRDCResult
from genmetrics.metrics.scores import scores

D = 16  # feature width: small, so every metric runs in milliseconds


def random_features(n, shift=0.0, seed=0, logits=True):
    rng = np.random.default_rng(seed)
    return Features((rng.normal(size=(n, D)) + shift).astype(np.float32),
                    rng.normal(size=(n, 1008)).astype(np.float32) if logits else None, None,
                    {"resize": "tf", "weights_sha256": "0" * 64, "dims": D})


@pytest.fixture
def stored(tmp_path):
    save_features(tmp_path / "a.npz", random_features(120, seed=1))
    save_features(tmp_path / "b.npz", random_features(100, shift=0.3, seed=2))
    return tmp_path / "a.npz", tmp_path / "b.npz"


def mean_gap(inputs) -> dict:
    """|mu_real - mu_fake|^2: FID's mean term, a stand-in for a metric a user adds."""
    gap = inputs.reference_statistics.mu - inputs.generated_statistics.mu
    return {"mean_gap": float(gap @ gap)}


@pytest.fixture
def extra_metric():
    """A metric registered here, in no other file, and unregistered after the test."""
    registry.register_metric("mean_gap", [Key("mean_gap", False, "mean gap")], {REFERENCE_STATISTICS,
                             GENERATED_FEATURES}, mean_gap)
    yield "mean_gap"
    registry.unregister_metric("mean_gap")


def sweep_rows(monkeypatch, tmp_path, names, generated):
    """A two-level sweep whose feature pass returns ``generated`` (or whose generator makes 2-D points)."""
    import genmetrics.sweep as sweep

    monkeypatch.setattr(sweep, "_gathered_features", lambda batches, logits, options: generated)
    save_features(tmp_path / "ref.npz", random_features(120, seed=1), force=True)  # called once per metric kind
    points = any(registry.POINTS in registry.get_metric(n).needs for n in names)
    generator = (lambda z: torch.cat([z[:, :1].cos(), z[:, :1].sin()], 1)) if points else \
        (lambda z: torch.zeros(len(z), 3, 8, 8))
    return sweep.truncation_sweep(generator, 2, None if points else tmp_path / "ref.npz", [1.0, 0.5], n=100,
                                  metrics=names, modes_data="ring8", progress=False, kid_subsets=3)


def trainer_evaluation(monkeypatch, tmp_path, kind):
    """One periodic evaluation of an untrained run (images: the feature pass replaced by stored features)."""
    import genmetrics.features.compute as compute
    import genmetrics.trainers.evaluate as trainer
    from genmetrics.features.compute import statistics_from_features
    from genmetrics.trainers import prepare
    from genmetrics.trainers.state import TrainingState

    if kind == "image":
        pytest.importorskip("sklearn")  # digits come from scikit-learn
        monkeypatch.setattr(compute, "compute_features", lambda images, **_: random_features(len(images), seed=4))
        monkeypatch.setattr(trainer, "reference_statistics",
                            lambda *_: statistics_from_features(random_features(50, seed=5).features))
        options = dict(image_size=16, g_width=8, d_width=8, batch_size=8, z_dim=8, eval_n=20)
    else:
        options = dict(g_width=16, g_depth=2, d_width=16, d_depth=2, z_dim=2, eval_n=200)
    config, data, _ = prepare("gan" if kind == "toy" else "dcgan", "ring8" if kind == "toy" else "digits",
                              tmp_path / "run", device="cpu", **options)
    return trainer.evaluate_run(TrainingState(config, data, torch.device("cpu")))


def test_every_metric_is_documented_and_reachable_from_eval_sweep_and_training(monkeypatch, tmp_path, stored):
    for metric in registry.metrics():
        for key in metric.keys:
            assert key.higher_is_better in (True, False, None) and key.label, (metric.name, key)
        assert metric.rank_by, metric.name  # ranks two results (the trainers' best checkpoint)
        for option in metric.options:  # its defaults are documented in defaults.Options, or why not here
            assert option_source(option) or metric.unsourced.get(option), (metric.name, option)
        for context in registry.CONTEXTS:
            assert metric.available(context) or metric.not_applicable.get(context), (metric.name, context)
    expect = {m: registry.get_metric(m).key_names for m in registry.metric_names()}

    pixels = {registry.REFERENCE_IMAGES, registry.GENERATED_IMAGES}  # stored features have none (test_swd.py)
    eval_names = [n for n in registry.metric_names("eval") if not registry.get_metric(n).needs & pixels]
    own = [n for n in eval_names if registry.get_metric(n).features]  # their own feature space (FD_DINOv2 ...)
    result = evaluate(*stored, metrics=[n for n in eval_names if n not in own], kid_subsets=3, bootstrap=2)
    assert all(key in result for name in eval_names if name not in own for key in expect[name])
    for name in own:  # stored features of that space serve them
        space = registry.get_metric(name).features
        for i, side in enumerate(("a", "b")):
            features = random_features(60, shift=0.3 * i, seed=i)
            features.protocol.update(extractor=space.extractor, dims=2023 if space.dims == "spatial" else D)
            save_features(tmp_path / f"{name}_{side}.npz", features)
        result = evaluate(tmp_path / f"{name}_a.npz", tmp_path / f"{name}_b.npz", metrics=[name], bootstrap=2)
        assert all(key in result for key in expect[name])

    sweep_names = registry.metric_names("sweep")
    points = [n for n in sweep_names if registry.POINTS in registry.get_metric(n).needs]
    images = [n for n in sweep_names if n not in points]
    for names, generated in ((images, random_features(100, seed=3)), (points, None)):
        for row in sweep_rows(monkeypatch, tmp_path, names, generated):
            assert all(key in row for name in names for key in expect[name]), (names, row)

    import genmetrics.trainers.evaluate as trainer

    assert sorted(trainer.train_metrics("toy") + trainer.train_metrics("image")) == \
        sorted(registry.metric_names("train"))
    for kind in ("image", "toy"):
        record = trainer_evaluation(monkeypatch, tmp_path / kind, kind)
        assert record["metric"] == trainer.train_metrics(kind)[0]
        assert all(key in record for name in trainer.train_metrics(kind) for key in expect[name])


def test_a_metric_registered_in_one_place_is_computed_by_eval_sweep_and_training(monkeypatch, tmp_path, stored,
                                                                                  extra_metric):
    a, b = stored
    result = evaluate(a, b, metrics="fid,mean_gap", bootstrap=3)
    fa, fb = random_features(120, seed=1).features, random_features(100, shift=0.3, seed=2).features
    gap = fa.astype(np.float64).mean(0) - fb.astype(np.float64).mean(0)
    # The mean of the same float32 features accumulated in float64: round-off only.
    assert result["mean_gap"] == pytest.approx(float(gap @ gap), rel=1e-9)
    assert result["mean_gap"] < result["fid"]  # FID adds the covariance term to the same mean term
    assert set(result["bootstrap"]["intervals"]) == {"fid", "mean_gap"}
    rows = sweep_rows(monkeypatch, tmp_path, ["mean_gap"], random_features(100, seed=3))
    assert all(row["mean_gap"] > 0 for row in rows)
    assert trainer_evaluation(monkeypatch, tmp_path, "image")["mean_gap"] > 0

    from genmetrics import sweep_report

    assert "mean_gap" in sweep_report.columns() and sweep_report.labels()["mean_gap"] == "mean gap (lower is better)"
    assert "mean_gap" in registry.choices_help("eval")


def test_the_registry_is_left_as_found_after_unregistering(extra_metric):
    registry.unregister_metric(extra_metric)
    assert "mean_gap" not in registry.metric_names()
    with pytest.raises(GenmetricsError, match="unknown metric 'mean_gap'"):
        registry.parse_metrics("mean_gap", "eval")


def test_misspelled_or_misplaced_metric_names_say_what_to_write(stored, tmp_path):
    with pytest.raises(GenmetricsError, match="unknown metric 'precison'; did you mean 'precision'"):
        registry.parse_metrics("fid, precison", "eval")
    with pytest.raises(GenmetricsError, match="did you mean 'kid'"):
        evaluate(*stored, metrics="kdi")
    with pytest.raises(GenmetricsError, match="'modes' is not available here \\(eval\\): eval compares"):
        evaluate(*stored, metrics="fid,modes")
    with pytest.raises(GenmetricsError, match="no metric given"):
        registry.parse_metrics(" , ", "sweep")
    from genmetrics.sweep import truncation_sweep

    with pytest.raises(GenmetricsError, match="did you mean 'modes'"):
        truncation_sweep(lambda z: z, 2, None, [1.0], n=10, metrics="mdoes", modes_data="ring8")
    assert registry.parse_metrics("KID,fid,kid", "eval") == ["kid", "fid"]  # case-insensitive, deduplicated


@pytest.mark.parametrize("change, message", [
    (dict(name="fid"), "already registered"),
    (dict(name="Bad Name"), "lower-case"),
    (dict(keys=[Key("fid", False, "FID again")]), "produced twice"),
    (dict(keys=[Key("x", "lower", "x")]), "higher_is_better must be"),
    (dict(keys=[Key("x", False, "")]), "needs a label"),
    (dict(keys=[Key("x", False, "x", spread="x_std")]), "spread 'x_std'"),
    (dict(needs={"pixels"}), "choose from reference_features"),
    (dict(options=("kid_subset",)), "did you mean 'kid_subsets'"),
    (dict(not_applicable={"training": "no"}), "not_applicable"),
    (dict(rank_by=("nope",)), "rank_by"),
])
def test_registration_checks_every_field(change, message):
    fields = {**dict(name="x", keys=[Key("x", False, "x")], needs={GENERATED_FEATURES}, compute=mean_gap), **change}
    with pytest.raises(GenmetricsError, match=message):
        register_metric(fields.pop("name"), fields.pop("keys"), fields.pop("needs"), fields.pop("compute"), **fields)
    assert "x" not in registry.metric_names()


def test_metric_arithmetic_follows_the_device_rule(monkeypatch):
    # genmetrics fid computed the Fréchet distance on a CUDA device in torch float64 while eval, sweep and
    # the trainers used SciPy on the CPU. Pretend the device is CUDA: both FID and PRDC must be handed it.
    fid_module, prdc_module = (importlib.import_module(f"genmetrics.metrics.{m}") for m in ("fid", "prdc"))
    seen = {}
    real_fd, real_prdc = fid_module.frechet_distance, prdc_module.prdc

    def frechet_distance(mu1, sigma1, mu2, sigma2, device=None):
        seen["fid"] = device
        return real_fd(mu1, sigma1, mu2, sigma2)  # on the CPU: this machine may have no GPU

    def prdc_spy(real, fake, pr_k, dc_k, device=None):
        seen["prdc"] = device
        return real_prdc(real, fake, pr_k, dc_k)

    monkeypatch.setattr(fid_module, "frechet_distance", frechet_distance)
    monkeypatch.setattr(prdc_module, "prdc", prdc_spy)
    ref, gen = random_features(80, seed=1), random_features(60, seed=2)
    scores(["fid", "precision"], ref, gen, device=torch.device("cuda"))
    assert seen["fid"].type == "cuda" and seen["prdc"].type == "cuda"
    scores(["fid", "precision"], ref, gen, device="cpu")
    assert seen == {"fid": None, "prdc": None}  # the CPU path: SciPy, and torch on the CPU


def test_one_result_type_keeps_the_old_call_forms():
    x, y = random_features(60, seed=1).features, random_features(50, seed=2).features
    kid = kernel_inception_distance(x, y, 4, 20, 7)
    mean, std, size = kid  # the former tuple
    assert isinstance(kid, KIDResult) and (mean, std, size) == (kid.kid, kid.kid_std, 20) == tuple(kid)
    assert kid[0] == kid.kid and kid.protocol == {"subset_size": 20, "subsets": 4, "seed": 7, "kernel": "poly",
                                                  "kernel_params": {"degree": 3, "gamma": None, "coef0": 1.0},
                                                  "version": kid.version}
    found = prdc(x, y)
    assert isinstance(found, PRDCResult) and found["recall"] == found.recall
    assert dict(found) == {k: getattr(found, k) for k in ("precision", "recall", "density", "coverage")}
    assert found == dict(found) and found.to_dict()["pr_k"] == 3 and found.protocol["dc_k"] == 5
    # CPU tensors are scored where they are, with the same numbers as arrays.
    assert prdc(torch.from_numpy(x), torch.from_numpy(y)) == found
    from genmetrics.metrics import FIDResult, ISResult, ModeCoverage

    assert all(issubclass(cls, MetricResult) for cls in (FIDResult, ISResult, ModeCoverage, KIDResult, PRDCResult))


def test_sweep_columns_and_the_best_checkpoint_come_from_the_registry():
    from genmetrics import sweep_report
    from genmetrics.trainers.evaluate import is_better

    # The order of the CSV columns before the registry: a sweep's output stays comparable.
    assert sweep_report.columns()[:12] == ("truncation", "fid", "inception_score", "inception_score_std", "kid",
                                           "precision", "recall", "density", "coverage", "modes_covered",
                                           "high_quality", "reverse_kl")
    # metrics added later come after them, in the order of their imports (metrics/__init__.py)
    assert sweep_report.columns()[12:] == ("fd", "vendi", "authpct", "classes_covered", "class_kl",
                                           "confident_fraction")
    assert sweep_report.labels()["fid"] == "FID (lower is better)"
    assert is_better({"metric": "fid", "fid": 3.0}, {"metric": "fid", "fid": 4.0})
    assert not is_better({"metric": "fid", "fid": 4.0}, {"metric": "fid", "fid": 4.0})
    modes = {"metric": "modes", "modes_covered": 8, "high_quality": 0.5}
    assert is_better(modes, {**modes, "modes_covered": 7, "high_quality": 0.9})
    assert not is_better(modes, {**modes, "high_quality": 0.6})

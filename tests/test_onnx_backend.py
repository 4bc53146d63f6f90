"""The onnxruntime backend: the same features as the torch path, per protocol; its cache; when it is not used.

Tolerance: 1e-5 of the largest feature (issue 17), i.e. float32 round-off through InceptionV3 computed in
another order by another library (measured: 6e-7 to 1.2e-6 on these random weights).
"""
import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import genmetrics  # noqa: E402
from genmetrics import GenmetricsError  # noqa: E402
from genmetrics.cache import CacheWarning, cache_dir  # noqa: E402
from genmetrics.features import onnx_backend, onnx_export, registry  # noqa: E402
from genmetrics.features.registry import load_extractor, register_extractor  # noqa: E402

TOLERANCE = 1e-5


def relative(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def features(images, backend, **options):
    return genmetrics.compute_features(images, backend=backend, device="cpu", progress=False, cache=False, **options)


@pytest.mark.parametrize("resize", ["pytorch-fid", "tf", "clean"])  # pytorch-fid, torch-fidelity, clean-fid
def test_inception_matches_torch_in_each_protocol(weights, real_images, resize):
    images = real_images[:2]
    ours = features(images, "onnxruntime", weights=weights, resize=resize)
    torch_path = features(images, "torch", weights=weights, resize=resize)
    assert ours.protocol["backend"] == "onnxruntime" and torch_path.protocol["backend"] == "torch"
    assert relative(ours.features, torch_path.features) < TOLERANCE
    assert relative(ours.logits, torch_path.logits) < TOLERANCE


def test_inception_every_dims_and_logits(weights):
    """One graph serves every output up to its deepest; each agrees with the torch network's."""
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    net = load_extractor(weights=weights, device="cpu", backend="torch").model
    ort = load_extractor(weights=weights, device="cpu", backend="onnxruntime").model
    wanted = frozenset({"64", "192", "768", "2048", "logits"})
    with torch.no_grad():
        expected = net(x.contiguous(memory_format=torch.channels_last), wanted)
    got = ort(x, wanted)
    assert set(got) == wanted
    for name in wanted:
        assert got[name].shape == expected[name].shape
        assert relative(got[name], expected[name]) < TOLERANCE, name


def test_graph_outputs():
    assert onnx_backend.inception_graph_outputs({"64"}) == ["64"]
    assert onnx_backend.inception_graph_outputs({"768"}) == ["64", "192", "768"]
    assert onnx_backend.inception_graph_outputs({"2048", "logits"}) == ["64", "192", "768", "2048", "logits"]
    assert onnx_backend.inception_graph_outputs({"spatial"}) == ["64", "192", "spatial"]


@pytest.mark.parametrize("name", ["digits", "stacked-digits"])
def test_digits_classifiers(real_images, name):
    ours, theirs = features(real_images[:4], "onnxruntime", extractor=name), features(real_images[:4], "torch", extractor=name)
    assert ours.protocol["backend"] == "onnxruntime" and "backend_note" not in ours.protocol
    assert relative(ours.features, theirs.features) < TOLERANCE and relative(ours.logits, theirs.logits) < TOLERANCE


def _forget(name):
    for key in [k for k in registry._models if k[0] == name]:
        del registry._models[key]


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_export_is_rebuilt(real_images, damage):
    _forget("digits")
    first = features(real_images[:2], "onnxruntime", extractor="digits")
    [path] = (cache_dir() / "onnx").glob("*.onnx")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF  # inside the weights: the graph would still load, with a wrong weight
    else:
        del data[len(data) // 2:]
    path.write_bytes(bytes(data))
    _forget("digits")
    with pytest.warns(CacheWarning, match="damaged"):
        again = features(real_images[:2], "onnxruntime", extractor="digits")
    assert np.array_equal(again.features, first.features)
    [rebuilt] = (cache_dir() / "onnx").glob("*.onnx")
    assert rebuilt.read_bytes() != bytes(data)


def test_export_key_has_the_versions(monkeypatch):
    """A file written by another torch (or onnx, or genmetrics) is never read: it has another key."""
    x = torch.zeros(1, 3, 8, 8)
    before = onnx_export.export_key({"weights_sha256": "a"}, x, ["out0"])
    assert before != onnx_export.export_key({"weights_sha256": "b"}, x, ["out0"])
    monkeypatch.setattr(torch, "__version__", "0.0.0")
    assert before != onnx_export.export_key({"weights_sha256": "a"}, x, ["out0"])


def test_backend_choice(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.delenv(onnx_backend.ENV_BACKEND)
    assert onnx_backend.choose_backend("auto", cpu, "fp32") == "onnxruntime"
    assert onnx_backend.choose_backend("auto", cuda, "fp32") == "torch"  # CUDA stays torch
    assert onnx_backend.choose_backend("auto", cpu, "fp64") == "torch"
    with pytest.raises(GenmetricsError, match="--device cpu"):
        onnx_backend.choose_backend("onnxruntime", cuda, "fp32")
    with pytest.raises(GenmetricsError, match="fp32 only"):
        onnx_backend.choose_backend("onnxruntime", cpu, "bf16")
    with pytest.raises(GenmetricsError, match="choose one of"):
        onnx_backend.choose_backend("tensorrt", cpu, "fp32")
    # Without the extra: auto is today's torch path, and asking for onnxruntime names the extra.
    monkeypatch.setattr(onnx_backend, "available", lambda: False)
    assert onnx_backend.choose_backend("auto", cpu, "fp32") == "torch"
    with pytest.raises(GenmetricsError, match=r"pip install genmetrics\[onnx\]"):
        load_extractor("digits", device="cpu", backend="onnxruntime")


class Unexportable(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.svdvals(x.mean(dim=1))  # no ONNX operator for an SVD


def test_unexportable_extractor_falls_back_to_torch(tmp_path, real_images):
    marker = tmp_path / "weights.bin"
    marker.write_bytes(b"keys the export cache")
    register_extractor("svd-test", lambda device, path: Unexportable(), size=16, override=True)
    with pytest.warns(UserWarning, match="runs under torch"):
        result = features(real_images[:2], "onnxruntime", extractor="svd-test", extractor_weights=str(marker))
    assert result.protocol["backend"] == "torch" and "export failed" in result.protocol["backend_note"]


def test_a_failed_export_is_remembered_until_the_cache_is_cleared(tmp_path, real_images, monkeypatch):
    """The next process does not pay for an export that failed (DINOv2-L/14's takes minutes to fail); the
    cache lists the failure and ``cache clear`` forgets it."""
    from genmetrics import cache

    marker = tmp_path / "weights.bin"
    marker.write_bytes(b"keys the export cache")
    register_extractor("svd-test", lambda device, path: Unexportable(), size=16, override=True)
    attempts = []
    export = onnx_export._export_bytes
    monkeypatch.setattr(onnx_export, "_export_bytes", lambda *a: attempts.append(1) or export(*a))
    notes = []
    for _ in range(2):
        _forget("svd-test")  # as a new process: no model kept in memory
        with pytest.warns(UserWarning, match="runs under torch"):
            result = features(real_images[:2], "onnxruntime", extractor="svd-test", extractor_weights=str(marker))
        notes.append(result.protocol["backend_note"])
    assert len(attempts) == 1 and "remembered" in notes[1] and "export failed" in notes[1]
    [failed] = [e for e in cache.entries() if e["kind"] == "onnx-failed"]
    assert "export failed" in failed["source"]
    assert cache.clear() == 1 and not [e for e in cache.entries() if e["kind"] == "onnx-failed"]


def test_cache_lists_and_clears_exported_networks(real_images):
    from click.testing import CliRunner

    from genmetrics.cli import cli

    _forget("digits")
    features(real_images[:2], "onnxruntime", extractor="digits")
    listed = CliRunner().invoke(cli, ["cache", "list"])
    assert listed.exit_code == 0 and "onnx" in listed.output and "exported network" in listed.output
    cleared = CliRunner().invoke(cli, ["cache", "clear"])
    assert cleared.exit_code == 0 and "removed 1 entries" in cleared.output
    assert not list((cache_dir() / "onnx").glob("*.onnx"))


def test_result_protocol_records_the_backend(real_images, fake_images):
    result = genmetrics.fid(real_images[:4], fake_images[:4], extractor="digits", backend="onnxruntime",
                            device="cpu", progress=False)
    assert result.protocol["backend"] == "onnxruntime"

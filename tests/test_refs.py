"""Named reference statistics (ref:NAME): downloaded from a file server on loopback, checked against the pinned
SHA-256 before the file appears, written atomically, read from the cache afterwards; a mismatch refused, the
offline error naming the file and where to copy it."""
import hashlib
import http.server
import json
import threading

import numpy as np
import pytest

from genmetrics import refs
from genmetrics.errors import GenmetricsError
from genmetrics.inputs import STATISTICS, open_input
from genmetrics.stats import Statistics, save_statistics
from tests.helpers import fails_cleanly, run


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; ``server.requests`` counts the GETs."""
    served = tmp_path / "served"
    served.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.folder, httpd.requests = served, requests
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _serve_statistics(server, name, mu):
    path = server.folder / name
    save_statistics(path, Statistics(np.asarray(mu, float), np.eye(len(mu)), 100))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _register(monkeypatch, name, url, sha256, fmt=refs.STATISTICS_NPZ):
    reference = refs.Reference(name, url, sha256, "test statistics, tf protocol", "tf", fmt, "this test")
    monkeypatch.setitem(refs.REFERENCES, name, reference)
    return reference


def _leftovers():
    folder = refs.refs_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_download_once_checked_then_cached(server, monkeypatch):
    _, digest = _serve_statistics(server, "small.npz", [1.0, 2.0, 3.0])
    _register(monkeypatch, "small", f"{server.url}/small.npz", digest)
    for _ in range(2):
        opened = open_input("ref:small")
        assert opened.kind == STATISTICS and opened.value.mu.tolist() == [1.0, 2.0, 3.0]
        assert opened.value.meta["resize"] == "tf" and opened.name.startswith("ref:small (")
    assert server.requests == ["/small.npz"] and _leftovers() == ["small.npz"]  # fetched once, no temp file
    # FID against it from the CLI: identity covariances, so FID = |mu1 - mu2|^2
    other = server.folder / "other.npz"
    save_statistics(other, Statistics(np.array([1.0, 2.0, 5.0]), np.eye(3), 100, {"resize": "tf"}))
    code, out, err = run("fid", "ref:small", other, "--json")
    assert code == 0, err
    assert json.loads(out)["fid"] == pytest.approx(4.0, abs=1e-9)
    clean = server.folder / "clean.npz"
    save_statistics(clean, Statistics(np.zeros(3), np.eye(3), 100, {"resize": "clean"}))
    fails_cleanly(["fid", "ref:small", clean], "resize=tf", "resize=clean")
    # a damaged cached copy of a pinned file is refused, with the fix
    (refs.refs_dir() / "small.npz").write_bytes(b"garbage")
    with pytest.raises(GenmetricsError, match="delete it and run again"):
        open_input("ref:small")


def test_a_hash_mismatch_is_refused_and_nothing_written(server, monkeypatch):
    _serve_statistics(server, "small.npz", [1.0, 2.0])
    _register(monkeypatch, "wrong", f"{server.url}/small.npz", "0" * 64)
    with pytest.raises(GenmetricsError, match="nothing was written"):
        open_input("ref:wrong")
    assert _leftovers() == []


def test_offline_error_names_the_file_and_where_to_copy_it(monkeypatch):
    reference = _register(monkeypatch, "away", "http://127.0.0.1:9/away.npz", "a" * 64)  # port 9: refused
    line = fails_cleanly(["fid", "ref:away", "ref:away"], reference.url, str(refs.refs_dir() / "away.npz"))
    assert "a" * 64 in line


def test_the_table_the_mirror_and_unreadable_formats(server, monkeypatch):
    names = [r["name"] for r in refs.references()]
    assert {"cifar10-train-ttur", "imagenet256-adm", "imagenet512-edm2"} <= set(names)
    code, out, _ = run("refs", "list", "--json")
    listed = json.loads(out)["references"]
    assert code == 0 and all(r["url"].startswith("http") and r["protocol"] and r["source"] for r in listed)
    code, out, _ = run("refs", "list")
    assert "cifar10-train-ttur" in out and "not pinned" in out
    # a real entry through $GENMETRICS_REFS_MIRROR: unpinned, so the digest is reported in a warning
    _, digest = _serve_statistics(server, "fid_stats_cifar10_train.npz", [0.5, 0.5])
    monkeypatch.setenv(refs.ENV_MIRROR, server.url)
    with pytest.warns(UserWarning, match=f"no pinned SHA-256.*{digest}"):
        assert open_input("ref:cifar10-train-ttur").value.mu.tolist() == [0.5, 0.5]
    # a format genmetrics cannot read is refused before any download
    _register(monkeypatch, "other", f"{server.url}/other.bin", None, fmt="other-format")
    with pytest.raises(GenmetricsError, match="cannot read yet"):
        open_input("ref:other")
    assert server.requests == ["/fid_stats_cifar10_train.npz"]
    with pytest.raises(GenmetricsError, match="did you mean ref:cifar10-train-ttur"):
        open_input("ref:cifar10-train-tur")
    code, out, err = run("refs", "fetch", "cifar10-train-ttur")
    assert code == 0 and digest in out, err

"""Helpers of the HYPE tests: tiny studies, an HTTP client on loopback, and simulated raters."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np

from genmetrics import hype
from genmetrics.hype import db


def image_arrays(n: int, seed: int, size: int = 16, smooth: bool = False) -> np.ndarray:
    """n random RGB images; ``smooth`` ones (the 'fakes') compress far better, which a leak would show."""
    rng = np.random.default_rng(seed)
    if smooth:
        base = rng.integers(0, 256, (n, 1, 1, 3))
        return np.broadcast_to(base, (n, size, size, 3)).astype(np.uint8).copy()
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def make_study(folder, method="infinity", n=40, models=("good",), **counts) -> dict:
    """A study over npy pools of ``n`` real and ``n`` fake images per model."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "real.npy", image_arrays(n, seed=1))
    fakes = {}
    for k, model in enumerate(models):
        np.save(folder / f"{model}.npy", image_arrays(n, seed=10 + k, smooth=True))
        fakes[model] = str(folder / f"{model}.npy")
    return hype.create_study(folder / "study", str(folder / "real.npy"), fakes, method=method, **counts)


def labels(study) -> dict:
    """Image URL -> 'real' | 'fake' (what a test's simulated rater peeks at to answer on purpose)."""
    with db.opened(study) as con:
        return {f"/img/{r['name']}.png": r["kind"] for r in con.execute("SELECT name, kind FROM images")}


def request(url: str, body=None, headers=None, method=None):
    """(status, headers with lower-case names, bytes) of one HTTP request; errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def get_json(url: str, **kwargs):
    status, _, data = request(url, **kwargs)
    return status, json.loads(data)


def token_of(link: dict) -> str:
    return link["url"].rsplit("/", 1)[1]


def play(base: str, token: str, truth: dict, decide, max_trials: int = 10_000) -> list[dict]:
    """Answer as a rater would over HTTP until the study says done; ``decide(state, kind)`` -> answer."""
    api = f"{base}/api/r/{token}"
    status, reply = get_json(f"{api}/consent", body={})
    assert status == 200, reply
    state, answered = reply["state"], []
    while state["page"] != "done" and len(answered) < max_trials:
        choice = decide(state, truth[state["image"]])
        status, reply = get_json(f"{api}/answer", body={"trial": state["trial"], "answer": choice, "rt_ms": 5.0,
                                                        "shown_ms": state.get("exposure_ms")})
        assert status == 200, reply
        answered.append({"trial": state["trial"], "stored": reply["stored"], "page": state["page"]})
        state = reply["state"]
    return answered

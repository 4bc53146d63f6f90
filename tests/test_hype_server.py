"""The HYPE web app over real HTTP on loopback: the rules, resuming, security, label leaks and load."""
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from genmetrics import hype  # noqa: E402
from genmetrics.hype import db  # noqa: E402

from .hype_support import get_json, labels, make_study, play, request, token_of  # noqa: E402

COUNTS = dict(tutorial_n=2, qualification_n=4, task_n=10)  # 16 trials per rater


@pytest.fixture()
def served(tmp_path):
    """A small HYPE-infinity study served on a free loopback port; the server stops after the test."""
    made = make_study(tmp_path, n=12, **COUNTS)
    with hype.background_server(made["study"]) as base:
        yield made, base


def test_a_rater_walks_the_study_and_resumes_after_a_restart(tmp_path):
    made = make_study(tmp_path, n=12, **COUNTS)
    study, truth = made["study"], labels(made["study"])
    token = token_of(hype.invite(study, 1)[0])
    with hype.background_server(study) as base:
        api = f"{base}/api/r/{token}"
        assert get_json(f"{api}/state")[1]["page"] == "consent"
        assert get_json(f"{api}/answer", body={"trial": 1, "answer": "real"})[0] == 409  # no consent yet
        state = get_json(f"{api}/consent", body={})[1]["state"]
        assert state["page"] == "tutorial" and state["index"] == 1
        first = state["trial"]
        status, reply = get_json(f"{api}/answer", body={"trial": first, "answer": truth[state["image"]]})
        assert status == 200 and reply["stored"] and reply["feedback"] == {"correct": True,
                                                                           "label": truth[state["image"]]}
        # A double click or a replayed request: the first answer stands, nothing is stored twice.
        replay = get_json(f"{api}/answer", body={"trial": first, "answer": "fake"})[1]
        assert replay["stored"] is False and replay["state"]["trial"] == reply["state"]["trial"]
        nxt = reply["state"]
        assert get_json(f"{api}/answer", body={"trial": nxt["trial"] + 1, "answer": "real"})[0] == 409  # no skip
        assert get_json(f"{api}/state")[1]["trial"] == nxt["trial"]  # a reload resumes at the same trial
    # The server is stopped; a new one on the same study resumes at the same trial and finishes the study.
    with hype.background_server(study) as base:
        api = f"{base}/api/r/{token}"
        assert get_json(f"{api}/state")[1]["trial"] == nxt["trial"]
        # Qualification right; task right on reals and wrong on every fake: 50% error, 100% fake error.
        answered = play(base, token, truth,
                        lambda s, kind: kind if s["page"] != "task" or kind == "real" else "real")
        assert len(answered) == 15 and all(a["stored"] for a in answered)
        done = get_json(f"{api}/state")[1]
    assert done["page"] == "done" and len(done["completion_code"]) == 10 and done["qualified"]
    with db.opened(study) as con:
        assert con.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 16
    entry = hype.score(study)["models"]["good"]
    assert (entry["score"], entry["fake_error"], entry["real_error"], entry["raters"]) == (50.0, 100.0, 0.0, 1)


def test_failing_the_qualification_ends_the_study(served):
    made, base = served
    token = token_of(hype.invite(made["study"], 1)[0])
    flip = {"real": "fake", "fake": "real"}
    answered = play(base, token, labels(made["study"]),
                    lambda s, kind: flip[kind] if s["page"] == "qualification" else kind)
    assert [a["page"] for a in answered] == ["tutorial"] * 2 + ["qualification"] * 4
    done = get_json(f"{base}/api/r/{token}/state")[1]
    assert done["page"] == "done" and done["qualified"] is False


def test_tokens_admin_and_input_validation(served):
    made, base = served
    study = made["study"]
    token = token_of(hype.invite(study, 1)[0])
    assert request(f"{base}/r/{token}")[0] == 200
    for bad in ["x" * 43, "'OR'1'='1'--" + "x" * 20, "%27%20OR%201%3D1%20--%20" + "x" * 20]:
        assert request(f"{base}/r/{bad}")[0] == 404
        assert request(f"{base}/api/r/{bad}/state")[0] == 404
    admin = made["admin_token"]
    for path in ("status", "score", "export.csv"):
        assert request(f"{base}/api/admin/{path}")[0] == 401
        assert request(f"{base}/api/admin/{path}", headers={"Authorization": "Bearer " + "a" * 43})[0] == 401
        assert request(f"{base}/api/admin/{path}", headers={"Authorization": f"Bearer {admin}"})[0] == 200
    api = f"{base}/api/r/{token}"
    state = get_json(f"{api}/consent", body={})[1]["state"]
    for body in ({"trial": state["trial"], "answer": "maybe"}, {"trial": str(state["trial"]), "answer": "real"},
                 {"trial": state["trial"], "answer": "real", "rt_ms": -1}, ["real"]):
        assert request(f"{api}/answer", body=body)[0] == 400
    assert request(f"{api}/answer", body={"trial": state["trial"], "answer": "real", "pad": "x" * 5000})[0] == 413
    status, headers, _ = request(f"{base}/r/{token}")
    assert headers["referrer-policy"] == "no-referrer" and "script-src 'self'" in headers["content-security-policy"]
    # Rater text is stored as given (the page shows it with textContent) and made inert in the CSV export.
    assert request(f"{api}/comment", body={"comment": "=HYPERLINK(\"x\") <script>"})[0] == 200
    with db.opened(study) as con:
        assert con.execute("SELECT comment FROM raters").fetchone()[0] == "=HYPERLINK(\"x\") <script>"
    request(f"{api}/answer", body={"trial": state["trial"], "answer": "real"})
    csv_text = request(f"{base}/api/admin/export.csv", headers={"Authorization": f"Bearer {admin}"})[2].decode()
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text and '"=HYPERLINK' not in csv_text
    assert base.startswith("http://127.0.0.1:")  # loopback unless told otherwise


def _png_chunks(data: bytes) -> list[str]:
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append(kind.decode())
        at += 12 + length
    return chunks


def test_served_bytes_do_not_tell_real_from_fake(served):
    """The fakes here are flat colours (a compressed PNG would be tiny); served images must not show it."""
    made, base = served
    truth = labels(made["study"])
    seen = {"real": set(), "fake": set()}
    for url, kind in truth.items():
        status, headers, data = request(base + url)
        assert status == 200 and data[:8] == b"\x89PNG\r\n\x1a\n"
        headers = {k.lower(): v for k, v in headers.items() if k.lower() != "date"}
        assert "etag" not in headers and "last-modified" not in headers and "server" not in headers
        seen[kind].add((len(data), tuple(sorted(headers.items())), tuple(_png_chunks(data)), data[16:33]))
    assert len(seen["real"]) == 1 and seen["real"] == seen["fake"]  # one size, header set, chunk list, IHDR
    assert next(iter(seen["real"]))[2] == ("IHDR", "IDAT", "IEND")  # no metadata chunks
    # Nothing the rater's page receives names the kind.
    token = token_of(hype.invite(made["study"], 1)[0])
    state = get_json(f"{base}/api/r/{token}/consent", body={})[1]["state"]
    assert not {"kind", "label", "real", "fake"} & set(state) and "real" not in state["image"]


def test_fifty_raters_at_once_store_every_answer_once(tmp_path):
    """50 simulated raters on loopback, each sending every third answer twice at the same moment."""
    made = make_study(tmp_path, n=12, **COUNTS)
    study, truth = made["study"], labels(made["study"])
    tokens = [token_of(link) for link in hype.invite(study, 50)]
    acknowledged, lock = [], threading.Lock()
    deadline = time.monotonic() + 90  # bounded: a hang fails instead of blocking CI

    def rater(token, base):
        api = f"{base}/api/r/{token}"
        state = get_json(f"{api}/consent", body={})[1]["state"]
        k = 0
        while state["page"] != "done" and time.monotonic() < deadline:
            body = {"trial": state["trial"], "answer": truth[state["image"]], "rt_ms": 1.0}
            if k % 3 == 0:  # a double click: two requests in flight for the same trial
                with ThreadPoolExecutor(2) as pair:
                    replies = list(pair.map(lambda _: get_json(f"{api}/answer", body=body), range(2)))
            else:
                replies = [get_json(f"{api}/answer", body=body)]
            assert all(status == 200 for status, _ in replies), replies
            with lock:
                acknowledged.extend((token, state["trial"], r["stored"]) for _, r in replies)
            state = replies[0][1]["state"]
            k += 1
        return state["page"]

    with hype.background_server(study) as base, ThreadPoolExecutor(50) as pool:
        pages = list(pool.map(lambda t: rater(t, base), tokens))
    assert pages == ["done"] * 50
    stored = [a for a in acknowledged if a[2]]
    assert len(stored) == 50 * 16 and len({(t, trial) for t, trial, _ in stored}) == 50 * 16
    with db.opened(study) as con:
        assert con.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 50 * 16
        assert con.execute("SELECT COUNT(DISTINCT assignment_id) FROM trials").fetchone()[0] == 50 * 16
    assert hype.status(study)["models"]["good"]["finished"] == 50

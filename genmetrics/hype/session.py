"""What a rater sees next and what an answer does: the study's rules, over the database, without HTTP.

The rater's place is never kept in the browser: it is the first assignment (in the rater's order) that has
no trial, so a reload, a lost connection or a server restart resumes at the same trial. An answer is
accepted only for that trial and only once (a replayed or double-clicked answer returns the stored one).
The HYPE-time exposure is recomputed from the block's stored answers, never taken from the browser.
"""
from __future__ import annotations

import math
import sqlite3

import numpy as np

from . import db
from .protocol import Protocol, staircase
from .study import now

ANSWERS = ("real", "fake")


class RaterError(Exception):
    """A request that the rules refuse; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def rater_by_token(con: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return con.execute("SELECT * FROM raters WHERE token = ?", (token,)).fetchone()


def _next_assignment(con, rater_id: int):
    return con.execute("SELECT a.*, i.name AS image, i.kind AS kind FROM assignments a "
                       "JOIN images i ON i.id = a.image_id LEFT JOIN trials t ON t.assignment_id = a.id "
                       "WHERE a.rater_id = ? AND t.id IS NULL ORDER BY a.seq LIMIT 1", (rater_id,)).fetchone()


def qualification(con, rater_id: int, protocol: Protocol) -> dict:
    """Correct fractions on the real and the fake qualification images, and whether both reach the bar."""
    rows = con.execute("SELECT i.kind AS kind, SUM(t.correct) AS right, COUNT(*) AS n FROM trials t "
                       "JOIN assignments a ON a.id = t.assignment_id JOIN images i ON i.id = a.image_id "
                       "WHERE a.rater_id = ? AND a.phase = 'qualification' GROUP BY i.kind", (rater_id,)).fetchall()
    acc = {r["kind"]: r["right"] / r["n"] for r in rows}
    answered = sum(r["n"] for r in rows)
    if protocol.qualification_n == 0:
        return {"done": True, "passed": True, "real": None, "fake": None}
    passed = (answered == protocol.qualification_n and acc.get("real", 0.0) >= protocol.qualification_pass
              and acc.get("fake", 0.0) >= protocol.qualification_pass)
    return {"done": answered == protocol.qualification_n, "passed": passed, "real": acc.get("real"),
            "fake": acc.get("fake")}


def exposure_ms(con, rater_id: int, block: int, protocol: Protocol) -> int:
    """The exposure of the next trial of a HYPE-time block, from the block's answers so far."""
    correct = [r[0] for r in con.execute(
        "SELECT t.correct FROM trials t JOIN assignments a ON a.id = t.assignment_id "
        "WHERE a.rater_id = ? AND a.phase = 'task' AND a.block = ? ORDER BY a.position", (rater_id, block))]
    return staircase(correct, protocol)[-1]


def _current(con, rater, protocol: Protocol):
    """The assignment the rater must answer now, or None when the rater is finished (or not qualified)."""
    nxt = _next_assignment(con, rater["id"])
    if nxt is None:
        return None
    if nxt["phase"] == "task" and not qualification(con, rater["id"], protocol)["passed"]:
        return None
    return nxt


def state(con, rater, protocol: Protocol, masks: list[str]) -> dict:
    """The page the rater is on, and for a trial everything the browser needs to show it."""
    if rater["consent_at"] is None:
        return {"page": "consent", "method": protocol.method, "plan": protocol.plan(),
                "pass_percent": round(protocol.qualification_pass * 100)}
    nxt = _current(con, rater, protocol)
    if nxt is None:
        qual = qualification(con, rater["id"], protocol)
        return {"page": "done", "completion_code": rater["completion_code"], "qualified": qual["passed"],
                "method": protocol.method}
    sizes = {(phase, block): n for phase, block, n in protocol.plan()}
    out = {"page": nxt["phase"], "method": protocol.method, "trial": nxt["id"],
           "image": f"/img/{nxt['image']}.png", "index": nxt["position"] + 1,
           "total": sizes[(nxt["phase"], nxt["block"])],
           "block": nxt["block"] + 1, "blocks": protocol.blocks if protocol.method == "time" else 1}
    if nxt["phase"] == "task" and protocol.method == "time":
        # Four masks per trial, drawn from the study's masks by the trial's number (the same on a reload).
        rng = np.random.default_rng(nxt["id"])
        picks = rng.choice(len(masks), size=min(protocol.masks, len(masks)), replace=len(masks) < protocol.masks)
        out.update(timed=True, exposure_ms=exposure_ms(con, rater["id"], nxt["block"], protocol),
                   countdown_from=protocol.countdown_from, countdown_ms=protocol.countdown_ms,
                   masks=[f"/mask/{masks[i]}" for i in picks], mask_ms=protocol.mask_ms)
    else:
        out["timed"] = False
    return out


def consent(con, rater, user_agent: str) -> None:
    with db.transaction(con):
        con.execute("UPDATE raters SET consent_at = COALESCE(consent_at, ?), user_agent = COALESCE(user_agent, ?) "
                    "WHERE id = ?", (now(), (user_agent or "")[:300], rater["id"]))


def comment(con, rater, text) -> None:
    if not isinstance(text, str) or len(text) > 2000:
        raise RaterError(400, "a comment is text of at most 2,000 characters")
    with db.transaction(con):
        con.execute("UPDATE raters SET comment = ? WHERE id = ?", (text, rater["id"]))


def _number(value, name: str, upper: float):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= upper:
        raise RaterError(400, f"{name} must be a number of milliseconds in [0, {upper:g}]")
    return float(value)


def _feedback(phase: str, protocol: Protocol, kind: str, correct: bool) -> dict:
    """Tutorial: the true label. HYPE-time task: right or wrong (paper, "HYPE_time"). Otherwise nothing."""
    if phase == "tutorial":
        return {"correct": correct, "label": kind}
    if phase == "task" and protocol.method == "time":
        return {"correct": correct}
    return {}


def answer(con, rater, protocol: Protocol, payload: dict) -> dict:
    """Store one answer (once); returns {"stored": bool, "feedback": {...}}. Raises RaterError when refused."""
    if not isinstance(payload, dict):
        raise RaterError(400, "send a JSON object")
    trial, choice = payload.get("trial"), payload.get("answer")
    if isinstance(trial, bool) or not isinstance(trial, int) or choice not in ANSWERS:
        raise RaterError(400, "send {\"trial\": <int>, \"answer\": \"real\" | \"fake\"}")
    rt_ms = _number(payload.get("rt_ms"), "rt_ms", 1e8)
    shown_ms = _number(payload.get("shown_ms"), "shown_ms", 1e5)
    if rater["consent_at"] is None:
        raise RaterError(409, "consent first")
    with db.transaction(con):
        row = con.execute("SELECT a.*, i.kind AS kind FROM assignments a JOIN images i ON i.id = a.image_id "
                          "WHERE a.id = ? AND a.rater_id = ?", (trial, rater["id"])).fetchone()
        if row is None:
            raise RaterError(404, "no such trial for this link")
        stored = con.execute("SELECT correct FROM trials WHERE assignment_id = ?", (trial,)).fetchone()
        if stored is not None:  # a replay or a double click: the first answer stands
            return {"stored": False, "feedback": _feedback(row["phase"], protocol, row["kind"],
                                                          bool(stored["correct"]))}
        current = _current(con, rater, protocol)
        if current is None or current["id"] != trial:
            raise RaterError(409, "this is not the current trial; reload the page")
        correct = choice == row["kind"]
        timed = row["phase"] == "task" and protocol.method == "time"
        requested = exposure_ms(con, rater["id"], row["block"], protocol) if timed else None
        con.execute("INSERT INTO trials (assignment_id, answer, correct, requested_ms, shown_ms, rt_ms, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (trial, choice, int(correct), requested, shown_ms if timed else None, rt_ms, now()))
    return {"stored": True, "feedback": _feedback(row["phase"], protocol, row["kind"], correct)}

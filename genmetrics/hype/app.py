"""The web app: Starlette routes over ``session`` (the rules) and ``db`` (the storage).

Why Starlette on uvicorn: Starlette is a small, typed, actively maintained ASGI toolkit with no ORM or
template engine to drag in (FastAPI is built on it); uvicorn is the production ASGI server that FastAPI
and Starlette document, with pure-Python HTTP parsing (h11), so ``pip install genmetrics[hype]`` needs no
compiler. Routes are plain functions: Starlette runs them in its thread pool, each with its own SQLite
connection, and WAL mode lets the readers run beside the one writer.

Security: a rater's link carries a 256-bit token; every rater route looks the token up and answers 404
for anything else. The admin routes (status, export, score) need ``Authorization: Bearer <admin token>``
compared in constant time against its stored SHA-256. Pages are static files (the rater's page is the
same for everyone; data arrive as JSON and are put in the page with ``textContent``), served with a
strict Content-Security-Policy, no-referrer (the token in the URL never leaks to another site) and
no-store. Images are served from bytes with fixed headers: no ETag, Last-Modified or file name.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import db
from .results import export_rows, rows_to_csv, status as study_status
from .scoring import score
from .session import RaterError, answer, comment, consent, rater_by_token, state
from .study import load_study

STATIC = Path(__file__).parent / "static"
NAME = re.compile(r"^[0-9a-f]{32}\.png$")
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}
STATIC_TYPES = {"rater.html": "text/html; charset=utf-8", "hype.js": "text/javascript; charset=utf-8",
                "hype.css": "text/css; charset=utf-8", "index.html": "text/html; charset=utf-8"}
MAX_BODY = 4096  # bytes; an answer is about 100


def make_app(study) -> Starlette:
    """The ASGI app serving one study folder."""
    root = Path(study)
    record, protocol = load_study(root)
    with db.opened(root) as con:
        admin_hash = db.get_meta(con, "admin_token_sha256")
    masks = sorted(p.name for p in (root / "masks").glob("*.png"))
    static = {name: (STATIC / name).read_bytes() for name in STATIC_TYPES}

    def page(name: str, status: int = 200) -> Response:
        return Response(static[name], status, headers=HEADERS, media_type=STATIC_TYPES[name])

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status, headers=HEADERS)

    def with_rater(handler):
        def run(request: Request, body: bytes):
            with db.opened(root) as con:
                rater = rater_by_token(con, request.path_params["token"])
                if rater is None:
                    return error(404, "this link is not valid")
                try:
                    return handler(request, con, rater, body)
                except RaterError as exc:
                    return error(exc.status, str(exc))

        async def endpoint(request: Request):
            body = b""
            if request.method == "POST":
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > MAX_BODY:
                        return error(413, "request too large")
            # The database work (SQLite, blocking) runs in Starlette's thread pool.
            return await run_in_threadpool(run, request, body)
        return endpoint

    def read_json(body: bytes):
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise RaterError(400, "send JSON") from None

    def rater_page(request, con, rater, body):
        return page("rater.html")

    def get_state(request, con, rater, body):
        return JSONResponse(state(con, rater, protocol, masks), headers=HEADERS)

    def post_consent(request, con, rater, body):
        read_json(body)
        consent(con, rater, request.headers.get("user-agent", ""))
        return JSONResponse({"state": state(con, rater_by_token(con, rater["token"]), protocol, masks)},
                            headers=HEADERS)

    def post_answer(request, con, rater, body):
        result = answer(con, rater, protocol, read_json(body))
        return JSONResponse({**result, "state": state(con, rater, protocol, masks)}, headers=HEADERS)

    def post_comment(request, con, rater, body):
        data = read_json(body)
        comment(con, rater, data.get("comment") if isinstance(data, dict) else None)
        return JSONResponse({"ok": True}, headers=HEADERS)

    def image(folder: str):
        def endpoint(request: Request):
            name = request.path_params["name"]
            path = root / folder / name
            if not NAME.match(name) or not path.is_file():
                return error(404, "no such image")
            return Response(path.read_bytes(), headers=HEADERS, media_type="image/png")
        return endpoint

    def admin(handler):
        def endpoint(request: Request):
            given = request.headers.get("authorization", "")
            token = given[7:] if given.lower().startswith("bearer ") else ""
            digest = hashlib.sha256(token.encode()).hexdigest()
            if not token or admin_hash is None or not hmac.compare_digest(digest, admin_hash):
                return error(401, "admin token required: Authorization: Bearer <STUDY/admin_token>")
            return handler(request)
        return endpoint

    def admin_status(request):
        return JSONResponse(study_status(root), headers=HEADERS)

    def admin_score(request):
        return JSONResponse(score(root), headers=HEADERS)

    def admin_export(request):
        return Response(rows_to_csv(export_rows(root)), headers=HEADERS, media_type="text/csv; charset=utf-8")

    routes = [
        Route("/", lambda request: page("index.html")),
        Route("/static/{name}", lambda request: page(request.path_params["name"])
              if request.path_params["name"] in ("hype.js", "hype.css") else error(404, "not found")),
        Route("/r/{token}", with_rater(rater_page)),
        Route("/api/r/{token}/state", with_rater(get_state)),
        Route("/api/r/{token}/consent", with_rater(post_consent), methods=["POST"]),
        Route("/api/r/{token}/answer", with_rater(post_answer), methods=["POST"]),
        Route("/api/r/{token}/comment", with_rater(post_comment), methods=["POST"]),
        Route("/img/{name}", image("images")),
        Route("/mask/{name}", image("masks")),
        Route("/api/admin/status", admin(admin_status)),
        Route("/api/admin/score", admin(admin_score)),
        Route("/api/admin/export.csv", admin(admin_export)),
    ]

    async def not_found(request, exc):
        return PlainTextResponse("not found", 404, headers=HEADERS)

    async def not_allowed(request, exc):
        return PlainTextResponse("method not allowed", 405, headers=HEADERS)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.state.record = record
    return app

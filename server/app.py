"""The HTTP application: quart-trio blueprints over the actor runtime.

``create_app`` assembles it: configuration, the app's context (``server.context``), the
hooks every request passes (request id, security headers, metrics, access log), the error
handlers, and the blueprints of ``server.routes``.  Every response carries
``X-Request-Id`` and the security headers; every failure has the one shape of
``server.errors``.  Handlers only translate: authenticate, parse and validate at the edge
(``server.requests``), ask the runtime, translate the answer.
"""
from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from actors import ActorCorrupt, Runtime
from snapshots import StorageUnavailable, StoreCorrupt

from .auth import Tokens
from .context import Everturn, ServerSettings
from .errors import ApiError, from_actor_error, from_storage_unavailable, from_store_corrupt
from .limits import AuthThrottle, RateLimiter
from .metrics import metrics_registry
from .openapi import build_spec
from .requests import json_response
from .routes import OPERATIONS, RESOURCES

if TYPE_CHECKING:
    from actors.narration.service import Narrator

__all__ = ["SECURITY_HEADERS", "Everturn", "ServerSettings", "create_app"]

log = logging.getLogger("everturn.server")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
# The VTT module calls the bridge API from the VTT's page, another origin: the browser asks first
# (a preflight).  Bearer tokens, never cookies, so any origin may ask; nothing else is opened.
BRIDGE_PATH = re.compile(r"/api/v1/campaigns/[^/]+/bridge/|/bridge/foundry/")
CROSS_ORIGIN = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Bridge-Instance, X-Request-Id",
    "Access-Control-Expose-Headers": "Retry-After, X-Request-Id",
    "Access-Control-Max-Age": "600",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


async def _drain_body() -> None:
    """Take in the rest of a request body nobody read before its answer goes out.

    Answering before the body is in (a 401, 404 or 405 decided from the headers alone)
    leaves hypercorn 0.18 holding a keep-alive connection it neither closes nor reads from
    once the body arrives: the client's next request on it hangs. Bodies are size-limited,
    so reading them costs at most ``max_body_bytes``.
    """
    if getattr(request, "everturn_body_read", False):
        return
    with trio.move_on_after(5):
        try:
            await request.get_data(cache=False)
        except HTTPException:  # too large: hypercorn closes that connection itself
            pass


def close_after_refusal(response: Response) -> None:
    """Close an HTTP/1 connection whose request body was refused unread (413).

    hypercorn 0.18 neither reads the rest of such a body nor closes the connection: the
    client's next request on it would wait forever. ``Connection: close`` tells the client,
    and h11 closes the connection once the answer is out. (HTTP/2 forbids the header; a
    refused stream there costs only itself.)
    """
    if response.status_code == 413 and request.http_version.startswith("1"):
        response.headers["Connection"] = "close"


def create_app(runtime: Runtime, tokens: Tokens, settings: ServerSettings | None = None,
               narrator: Narrator | None = None, books: Any = None) -> QuartTrio:
    """The app over ``runtime``; ``tokens`` and ``books`` (``Rulebooks``) are bound to the data directory where
    it is opened (``server.serve.run_server``)."""
    settings = settings or ServerSettings()
    app = QuartTrio("everturn")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["BODY_TIMEOUT"] = 30
    ctx = Everturn(runtime, tokens, settings, RateLimiter(settings.rate, settings.burst), narrator=narrator)
    ctx.books = books
    ctx.auth_throttle = AuthThrottle(settings.auth_failure_burst, settings.auth_failure_every_s)
    ctx.spec = functools.partial(build_spec, runtime, OPERATIONS)
    ctx.registry = metrics_registry(ctx.metrics, runtime, lambda: ctx.narrator)
    if narrator is not None:  # POST /api/v1/rules/ask rephrases with it (rephrase: true)
        from actors.narration.rephrase import rephrase

        ctx.rephrase = functools.partial(rephrase, narrator)
    app.everturn = ctx  # type: ignore[attr-defined]
    for resource in RESOURCES:
        app.register_blueprint(resource.blueprint)

    @app.before_request
    async def _start() -> None:
        supplied = request.headers.get("X-Request-Id", "")
        request.everturn_id = supplied if _REQUEST_ID.fullmatch(supplied) else secrets.token_hex(8)
        request.everturn_started = time.perf_counter()

    @app.before_request
    async def _route() -> Response | None:
        """On a sharded server: the answer of the shards that own this request (server.shards.routing)."""
        if ctx.shards is None:
            return None
        from .shards.routing import route

        return await route(ctx.shards)

    @app.after_request
    async def _finish(response: Response) -> Response:
        await _drain_body()
        close_after_refusal(response)
        if BRIDGE_PATH.match(request.path):
            response.headers.update(CROSS_ORIGIN)
        for name, value in SECURITY_HEADERS.items():  # a handler may set a stricter or looser one
            response.headers.setdefault(name, value)
        request_id = getattr(request, "everturn_id", None)
        if request_id:
            response.headers["X-Request-Id"] = request_id
        started = getattr(request, "everturn_started", None)
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if started is not None:
            elapsed = time.perf_counter() - started
            ctx.metrics.observe_request(request.method, route, response.status_code, elapsed)
            log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed * 1000,
                     extra={"request_id": request_id, "route": route})
        return response

    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else None
        return json_response(exc.body(getattr(request, "everturn_id", None)), exc.status, headers)

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Response:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.code or 500, f"http_{exc.code}")
        message = "request body too large" if exc.code == 413 else (exc.description or exc.name)
        error = ApiError(exc.code or 500, code, message)
        allowed = getattr(exc, "valid_methods", None)  # RFC 9110: a 405 names what the resource allows
        headers = {"Allow": ", ".join(sorted(allowed))} if allowed else None
        return json_response(error.body(getattr(request, "everturn_id", None)), error.status, headers)

    @app.errorhandler(StoreCorrupt)
    async def _corrupt(exc: StoreCorrupt) -> Response:  # a direct read of the store (a page of events, a list)
        log.error("%s %s: %s", request.method, request.path, exc)
        return await _api_error(from_store_corrupt(exc))

    @app.errorhandler(StorageUnavailable)
    async def _storage_unavailable(exc: StorageUnavailable) -> Response:  # a direct write (tokens, halts, books)
        log.error("%s %s: %s", request.method, request.path, exc)
        return await _api_error(from_storage_unavailable(exc))

    @app.errorhandler(ActorCorrupt)
    async def _actor_corrupt(exc: ActorCorrupt) -> Response:  # a read of the runtime (state_of, state_at)
        log.error("%s %s: %s", request.method, request.path, exc)
        return await _api_error(from_actor_error(exc))

    @app.errorhandler(Exception)
    async def _bug(exc: Exception) -> Response:
        log.exception("unhandled error")
        error = ApiError(500, "internal", "internal error; the request id is in the server log")
        return json_response(error.body(getattr(request, "everturn_id", None)), 500)

    return app

"""The HTTP application: quart-trio routes over the actor runtime.

Every response carries ``X-Request-Id`` and the security headers; every failure has the
one shape of ``server.errors``.  Handlers only translate: authenticate, parse and
validate at the edge, ``ask`` the actor, translate the answer.
"""
from __future__ import annotations

import base64
import logging
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import trio
from pydantic import BaseModel, ValidationError
from quart import Response, request, websocket
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from actors import ActorCorrupt, ActorError, Command, Internal, Runtime, VirtualClock, parse_address
from actors.campaign.behavior import encounter_difficulty
from actors.campaign.status import gm_status as campaign_status
from actors.campaign.status import summary as campaign_summary
from actors.roles import is_gm
from engine_ext.combat import estimate
from snapshots import StorageUnavailable, StoreCorrupt, StoreError, backup
from snapshots.backups import PARTIAL, completed_backups, interrupted_backups
from training.registry import Registry

from . import decoding, narrator_api, search_api
from .auth import SCOPE_ID_RULE, Principal, TokenError, Tokens, claimed_token_id, scope_id_allowed
from .errors import ApiError, from_actor_error, from_storage_unavailable, from_store_corrupt, not_found
from .frames import EventFrames, StatesAfter, event_body
from .limits import AuthThrottle, RateLimiter
from .metrics import ServerMetrics
from .openapi import ActorStop, ClockAdvance, EstimateRequest, TokenRequest, build_spec, render_page

if TYPE_CHECKING:
    from actors.narration.service import Narrator

log = logging.getLogger("everturn.server")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


@dataclass
class ServerSettings:
    campaign_kinds: frozenset[str] = frozenset({"campaign", "combat", "strategy"})  # a scoped token reaches
    # kind/<its campaign> of these: a strategy game's players hold tokens scoped to the game's id
    max_body_bytes: int = 1 << 20
    max_frame_bytes: int = 256 * 1024
    rate: float = 50.0
    burst: float = 100.0
    ws_queue: int = 256
    ws_subscriptions_per_connection: int = 256  # beyond: ws error ws/too_many_subscriptions
    ws_subscriptions_per_token: int = 1024      # over all of a token's connections, likewise
    auth_failure_burst: float = 10.0  # failed authentications per client address and per token id at once,
    auth_failure_every_s: float = 6.0  # then one per this many seconds; beyond: 429 auth/throttled
    heartbeat_s: float = 20.0
    backup_dir: str | None = None
    advance_wait: float = 30.0  # seconds a clock advance waits for its timers to be handled
    sample_interval_s: float = 2.0  # runtime figures kept for the console's plots, this often
    models: Path = Path("models")  # the model registry GET /api/v1/admin/models lists (training jobs register there)
    search: bool = True  # index DATA/search (snapshots.search): posts, encounter summaries, rulebooks
    search_commit_s: float = 0.5  # the index commits at most this often


@dataclass
class Everturn:
    """What every handler reaches through ``app.everturn``."""

    runtime: Runtime
    tokens: Tokens
    settings: ServerSettings
    limiter: RateLimiter
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    event_frames: EventFrames = field(default_factory=EventFrames)
    states_after: StatesAfter = field(default_factory=StatesAfter)
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_SAMPLES))
    narrator: Narrator | None = None  # the server's (everturn serve --narrator-model); None: templates only
    search: Any = None  # snapshots.search.Indexer, set by run_server once the index is open; None: no search
    rephrase: Any = None  # async (question, answer) -> text: the narrator rephrasing rules answers; None: extracts
    subscriptions_by_token: Counter[str] = field(default_factory=Counter)  # live websocket subscriptions
    auth_throttle: AuthThrottle = field(default_factory=AuthThrottle)
    backups_removed: list[dict[str, Any]] = field(default_factory=list)  # interrupted ones run_server cleared
    backups_running: set[str] = field(default_factory=set)  # names of the backups being written now

    def figures(self) -> dict[str, Any]:
        """``GET /api/v1/admin/runtime``: the runtime's figures, the time, websocket clients."""
        return {**self.runtime.figures(), "at": time.time(), "websocket_clients": self.metrics.websockets}

    async def sample_forever(self) -> None:
        """Keep the last ``HISTORY_SAMPLES`` figures (the console's plots start with them)."""
        while True:
            figures = self.figures()
            figures["stopped"] = len(figures["stopped"])
            self.history.append(figures)
            await trio.sleep(self.settings.sample_interval_s)


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


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, headers=headers, content_type="application/json")


def create_app(runtime: Runtime, tokens: Tokens, settings: ServerSettings | None = None,
               narrator: Narrator | None = None) -> QuartTrio:
    settings = settings or ServerSettings()
    app = QuartTrio("everturn")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["BODY_TIMEOUT"] = 30
    ctx = Everturn(runtime, tokens, settings, RateLimiter(settings.rate, settings.burst), narrator=narrator)
    ctx.auth_throttle = AuthThrottle(settings.auth_failure_burst, settings.auth_failure_every_s)
    app.everturn = ctx  # type: ignore[attr-defined]
    narrator_api.register(app, ctx)
    search_api.register(app, ctx)

    @app.before_request
    async def _start() -> None:
        supplied = request.headers.get("X-Request-Id", "")
        request.everturn_id = supplied if _REQUEST_ID.fullmatch(supplied) else secrets.token_hex(8)
        request.everturn_started = time.perf_counter()

    @app.after_request
    async def _finish(response: Response) -> Response:
        await _drain_body()
        close_after_refusal(response)
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

    # -- health ----------------------------------------------------------------------

    @app.get("/health/live")
    async def live() -> Response:
        return json_response({"status": "ok"})

    @app.get("/health/ready")
    async def ready() -> Response:
        health = runtime.store.health
        fault = health.fault
        ok = runtime.accepting and not runtime.store.closed and fault is None
        body: dict[str, Any] = {"status": "ok" if ok else "degraded" if fault else "unavailable",
                                "storage": not runtime.store.closed and fault is None, "runtime": runtime.accepting}
        if fault is not None:  # reads, subscriptions and health go on; writes are refused until it clears
            body["reason"] = {"code": fault.code, "cause": fault.cause, "since": fault.since,
                              "message": "writes are refused, reads work; they resume by themselves once the disk "
                                         "writes again", "next_attempt_in_s": health.as_dict()["next_attempt_in_s"]}
        return json_response(body, 200 if ok else 503)

    @app.get("/openapi.json")
    async def openapi() -> Response:
        return json_response(build_spec(runtime))

    @app.get("/api")
    async def api_page() -> Response:
        page = Response(render_page(build_spec(runtime)), content_type="text/html; charset=utf-8")
        page.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        return page

    @app.get("/metrics")
    async def metrics() -> Response:
        text = "\n".join([ctx.metrics.render(runtime).rstrip("\n"), *narrator_api.metric_lines(ctx.narrator)]) + "\n"
        return Response(text, content_type="text/plain; version=0.0.4")

    # -- actors ------------------------------------------------------------------------

    @app.post("/api/v1/actors/<kind>/<actor_id>/commands")
    async def post_command(kind: str, actor_id: str) -> Response:
        principal = authenticate(ctx)
        address = reachable(ctx, principal, f"{kind}/{actor_id}")
        command = parse_command(runtime, address, await json_body())
        admitted(ctx, address, command)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            raise ApiError(400, "bad_idempotency_key", "Idempotency-Key: 1-128 of letters, digits, '.', '_', ':', '-'")
        ack = await ask(runtime, address, command, principal, idempotency_key=f"{principal.token_id}:{key}" if key else None)
        return json_response({"address": address, "seq": ack.seq, "events": ack.events})

    @app.get("/api/v1/actors/<kind>/<actor_id>")
    async def get_actor(kind: str, actor_id: str) -> Response:
        principal = authenticate(ctx)
        address = reachable(ctx, principal, f"{kind}/{actor_id}")
        state, seq = runtime.state_of(existing(ctx, address))
        return json_response({"address": address, "seq": seq,
                              "state": state_json(runtime.behavior_of(address), state, principal.as_dict())})

    @app.get("/api/v1/actors/<kind>/<actor_id>/events")
    async def get_events(kind: str, actor_id: str) -> Response:
        principal = authenticate(ctx)
        address = reachable(ctx, principal, f"{kind}/{actor_id}")
        after, limit = page_args()
        existing(ctx, address)
        behavior, viewer = runtime.behavior_of(address), principal.as_dict()
        wanted = limit + 1
        if (head := runtime.acknowledged(address)) is not None:  # never an event whose write is not yet durable
            wanted = max(0, min(wanted, head - after))
        if behavior.projects(viewer):
            items = await runtime.workers.in_thread(projected_events, runtime, address, after, wanted, viewer)
        else:
            items = [{"seq": seq, **event_json(behavior, stored)}
                     for seq, stored in runtime.store.read_journal(address, after=after, limit=wanted)]
        return json_response(page_json(items, limit, "seq"))

    # -- campaigns ---------------------------------------------------------------------

    @app.get("/api/v1/campaigns")
    async def list_campaigns() -> Response:
        principal = authenticate(ctx)
        after, limit = page_args(by_name=True)
        if "campaign" not in runtime.behaviors:  # a server hosting other kinds only: no campaigns to list
            addresses: Iterator[str] = iter(())
        elif principal.operator:
            addresses = (address for address, _ in runtime.store.known_actors("campaign/", after=after))
        else:
            own = f"campaign/{principal.campaign}"
            addresses = iter([own] if own > after else [])
        items: list[dict[str, Any]] = []
        for address in addresses:
            state, _ = runtime.state_of(address)
            if state.created:
                items.append({**campaign_summary(state, address.split("/", 1)[1]), "address": address})
            if len(items) > limit:
                break
        return json_response(page_json(items, limit, "address"))

    @app.post("/api/v1/campaigns/<campaign_id>/encounters/estimate")
    async def estimate_encounter(campaign_id: str) -> Response:
        address = gm_campaign(ctx, campaign_id, "encounter estimates are for the campaign's GM (or an operator)")
        body = validated(EstimateRequest, await json_body())
        state = created_campaign(runtime, address)
        try:
            report, fighters = encounter_difficulty(state, body)
        except ValueError as exc:
            raise ApiError(422, "estimate/invalid", str(exc)) from exc
        seed = body.seed if body.seed is not None else secrets.randbits(63)
        result = await trio.to_thread.run_sync(estimate, fighters, body.fights, seed, body.max_rounds)
        log.info("encounter estimate", extra={"campaign": campaign_id, "seed": seed, "fights": body.fights})
        return json_response({"budget": report, "estimate": result})

    @app.get("/api/v1/campaigns/<campaign_id>/gm/status")
    async def gm_status(campaign_id: str) -> Response:
        address = gm_campaign(ctx, campaign_id, "the GM status is for the campaign's GM (or an operator)")
        state = created_campaign(runtime, address)
        return json_response(campaign_status(state, campaign_id, runtime.clock.now()))

    # -- operators ---------------------------------------------------------------------

    @app.get("/api/v1/admin/actors")
    async def admin_tree() -> Response:
        operator(ctx)
        return json_response(runtime.tree())

    @app.get("/api/v1/admin/actors/<kind>/<actor_id>")
    async def admin_actor(kind: str, actor_id: str) -> Response:
        address = operator_target(ctx, kind, actor_id)
        cell = runtime.cells.get(address)
        state, seq = runtime.state_of(address)
        return json_response({
            "address": address, "active": cell is not None, "seq": seq,
            "figures": runtime.describe(cell) if cell is not None else None,
            "timers": [{"name": t.name, "due_ms": t.due_ms, "id": t.id} for t in runtime.store.timers_of(address)],
            "stopped": runtime.halted.get(address),
            "state": state.model_dump(mode="json"),
        })

    @app.post("/api/v1/admin/actors/<kind>/<actor_id>/passivate")
    async def admin_passivate(kind: str, actor_id: str) -> Response:
        address = operator_target(ctx, kind, actor_id)
        return json_response({"address": address, "passivated": await runtime.unload(address)})

    @app.post("/api/v1/admin/actors/<kind>/<actor_id>/stop")
    async def admin_stop(kind: str, actor_id: str) -> Response:
        principal = operator(ctx)
        address = valid_address(f"{kind}/{actor_id}")
        body = validated(ActorStop, await json_body(empty={}))
        try:
            changed = await runtime.halt(address, body.reason, by=principal.token_id)
        except ActorError as exc:
            raise from_actor_error(exc) from exc
        return json_response({"address": address, "stopped": True, "changed": changed})

    @app.post("/api/v1/admin/actors/<kind>/<actor_id>/start")
    async def admin_start(kind: str, actor_id: str) -> Response:
        address = operator_target(ctx, kind, actor_id)
        return json_response({"address": address, "stopped": False, "changed": await runtime.unhalt(address)})

    @app.post("/api/v1/admin/actors/<kind>/<actor_id>/restart")
    async def admin_restart(kind: str, actor_id: str) -> Response:
        address = operator_target(ctx, kind, actor_id)
        return json_response({"address": address, "restarted": await runtime.restart(address)})

    @app.get("/api/v1/admin/dead-letters")
    async def admin_dead_letters() -> Response:
        operator(ctx)
        after, limit = page_args()
        return json_response(page_json(runtime.store.dead_letters(after=after, limit=limit + 1), limit, "n"))

    @app.get("/api/v1/admin/runtime")
    async def admin_runtime() -> Response:
        operator(ctx)
        return json_response(ctx.figures())

    @app.get("/api/v1/admin/runtime/history")
    async def admin_runtime_history() -> Response:
        operator(ctx)
        return json_response({"interval_s": settings.sample_interval_s, "samples": list(ctx.history)})

    @app.get("/api/v1/admin/training")
    async def admin_training() -> Response:
        operator(ctx)
        after, limit = page_args(by_name=True)
        items: list[dict[str, Any]] = []
        known = runtime.store.known_actors("train/", after=after) if "train" in runtime.behaviors else iter(())
        for address, _ in known:
            state, _ = runtime.state_of(address)
            if state.status != "new":
                items.append(training_summary(address, state))
            if len(items) > limit:
                break
        return json_response(page_json(items, limit, "address"))

    @app.get("/api/v1/admin/models")
    async def admin_models() -> Response:
        operator(ctx)
        root = Path(settings.models)
        return json_response({"root": str(root), "items": await runtime.workers.in_thread(model_listing, root)})

    @app.get("/api/v1/admin/clock")
    async def admin_clock() -> Response:
        operator(ctx)
        return json_response(clock_json(runtime))

    @app.post("/api/v1/admin/clock/advance")
    async def admin_clock_advance() -> Response:
        operator(ctx)
        body = validated(ClockAdvance, await json_body())
        clock = runtime.clock
        if not isinstance(clock, VirtualClock):
            raise ApiError(409, "clock/not_virtual", "only a server started with --clock virtual can be advanced")
        fired, settled = 0, False
        with trio.move_on_after(ctx.settings.advance_wait):
            fired = await runtime.timers.advance(clock, body.seconds)
            settled = True
        return json_response({**clock_json(runtime), "fired": fired, "settled": settled})

    @app.post("/api/v1/admin/tokens")
    async def admin_tokens() -> Response:
        operator(ctx)
        body = validated(TokenRequest, await json_body())
        try:
            token, principal = tokens.create(body.role, body.campaign, body.character, body.acts_as)
        except (TokenError, ActorError) as exc:
            raise ApiError(422, "token/invalid", str(exc)) from exc
        return json_response({"token": token, **principal.as_dict()}, 201)

    @app.delete("/api/v1/admin/tokens/<token_id>")
    async def admin_revoke(token_id: str) -> Response:
        operator(ctx)
        if not tokens.revoke(token_id):
            raise not_found(f"token {token_id}")
        return json_response({"revoked": token_id})

    @app.post("/api/v1/admin/backup")
    async def admin_backup() -> Response:
        operator(ctx)
        if settings.backup_dir is None:
            raise ApiError(409, "backup/disabled", "start the server with --backup-dir to allow online backups")
        name = time.strftime("everturn-%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{secrets.token_hex(3)}"
        ctx.backups_running.add(name)
        try:
            target = await trio.to_thread.run_sync(backup, runtime.store, f"{settings.backup_dir}/{name}")
        except StoreError as exc:
            raise ApiError(503, "backup/failed", str(exc)) from exc
        finally:
            ctx.backups_running.discard(name)
        return json_response({"backup": str(target)}, 201)

    @app.get("/api/v1/admin/backups")
    async def admin_backups() -> Response:
        operator(ctx)
        if settings.backup_dir is None:
            raise ApiError(409, "backup/disabled", "start the server with --backup-dir to allow online backups")
        listing = await runtime.workers.in_thread(backup_listing, settings.backup_dir, ctx.backups_removed,
                                                  frozenset(ctx.backups_running))
        return json_response(listing)

    @app.websocket("/ws")
    async def ws() -> None:
        from .ws import serve_connection

        await serve_connection(ctx, websocket)

    return app


# -- request helpers ----------------------------------------------------------------------

def backup_listing(backup_dir: str, removed: list[dict[str, Any]], running: frozenset[str]) -> dict[str, Any]:
    """``GET /api/v1/admin/backups``: completed backups, and interrupted ones (cleared at start, or
    present now: not those of the backups this server is writing)."""
    present = [{"name": path.name, "path": str(path), "removed_at": None} for path in interrupted_backups(backup_dir)
               if path.name.split(PARTIAL)[0] not in running]
    return {"backup_dir": backup_dir, "items": [info.as_dict() for info in completed_backups(backup_dir)],
            "interrupted": [*removed, *present]}


def training_summary(address: str, state: Any) -> dict[str, Any]:
    """One line of ``GET /api/v1/admin/training``: where a job stands (its figures are in its state)."""
    return {"address": address, "status": state.status, "step": state.step, "total": state.total,
            "name": state.name, "model_version": state.model_version, "started_at": state.started_at,
            "updated_at": state.updated_at, "error": state.error}


def model_listing(root: Path) -> list[dict[str, Any]]:
    """The registry's versions with their evaluations (blocking file reads: run it in a thread; it never
    imports torch, see ``training.registry``)."""
    return Registry(root).listing()


def clock_json(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    return {"now": now, "virtual": isinstance(runtime.clock, VirtualClock)}


def gm_campaign(ctx: Everturn, campaign_id: str, refusal: str) -> str:
    """The campaign's address, for its GM or an operator only (else 403 ``campaign/gm_only``, ``refusal``)."""
    principal = authenticate(ctx)
    address = reachable(ctx, principal, f"campaign/{campaign_id}")
    if not is_gm(principal.as_dict()):
        raise ApiError(403, "campaign/gm_only", refusal)
    return address


def created_campaign(runtime: Runtime, address: str) -> Any:
    """The campaign's state; 404 until it is created."""
    state, _ = runtime.state_of(address)
    if not state.created:
        raise not_found(address)
    return state


def authenticate(ctx: Everturn, token: str | None = None) -> Principal:
    """The request's principal; 401 without a valid token, 429 past its rate limit."""
    if token is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "auth/missing", "send 'Authorization: Bearer <token>'")
    principal = verified(ctx, token.strip(), request.remote_addr or "unknown")
    wait = ctx.limiter.take(principal.token_id)
    if wait is not None:
        raise ApiError(429, "rate_limited", "too many requests for this token", retry_after=wait)
    return principal


def verified(ctx: Everturn, token: str, client: str) -> Principal:
    """The principal of ``token`` presented from ``client`` (an address); 401 ``auth/invalid`` if it
    does not verify, 429 ``auth/throttled`` (checking nothing) after too many failures from that
    address or for that token id.  Failures are counted and logged, never with the secret."""
    token_id = claimed_token_id(token)
    real_id = token_id if token_id is not None and ctx.tokens.known(token_id) else None
    locked = ctx.auth_throttle.locked(client, real_id)
    if locked is not None:
        per, wait = locked
        ctx.metrics.auth_throttled[per] += 1
        raise ApiError(429, "auth/throttled", f"too many failed authentications for this {per}; try again later",
                       {"per": per, "retry_after": round(wait, 3)}, retry_after=wait)
    principal = ctx.tokens.verify(token)
    if principal is None:
        ctx.auth_throttle.failed(client, real_id)
        ctx.metrics.auth_failures += 1
        log.warning("authentication failed", extra={"client": client, "token_id": real_id or "unknown"})
        raise ApiError(401, "auth/invalid", "the token is unknown or revoked")
    return principal


def operator(ctx: Everturn) -> Principal:
    principal = authenticate(ctx)
    if not principal.operator:
        raise ApiError(403, "auth/forbidden", "this endpoint is for operator tokens")
    return principal


def operator_target(ctx: Everturn, kind: str, actor_id: str) -> str:
    """The address an operator route names, once the token is known to be an operator's."""
    operator(ctx)
    return valid_address(f"{kind}/{actor_id}")


def valid_address(address: str) -> str:
    try:
        parse_address(address)
    except ActorError as exc:
        raise from_actor_error(exc) from exc
    return address


def reachable(ctx: Everturn, principal: Principal, address: str) -> str:
    """``address`` if the principal may reach it; 404 (never 403) otherwise.

    A scoped token reaches exactly its own ``kind/<campaign>``, and the children that
    actor's stored state says are its own (``Behavior.owns``), never a name prefix."""
    valid_address(address)
    kind = address.split("/", 1)[0]
    if kind not in ctx.runtime.behaviors or not (
            principal.reaches(address, ctx.settings.campaign_kinds) or owned_by_scope(ctx, principal, address)):
        raise not_found(address)
    if (not principal.operator and kind != "campaign" and address.split("/", 1)[1] == principal.campaign
            and actor_exists(ctx.runtime, f"campaign/{principal.campaign}")):
        raise not_found(address)  # ids that collide (stored before they were refused): the campaign's tokens
    return address


def owned_by_scope(ctx: Everturn, principal: Principal, address: str) -> bool:
    """True when an actor ``kind/<principal's campaign>`` says ``address`` is its child."""
    runtime = ctx.runtime
    if principal.campaign is None:
        return False
    for kind in sorted(ctx.settings.campaign_kinds & runtime.behaviors.keys()):
        root = f"{kind}/{principal.campaign}"
        if root != address and actor_exists(runtime, root):
            state, _ = runtime.state_of(root)
            if runtime.behaviors[kind].owns(root, state, address):
                return True
    return False


def actor_exists(runtime: Runtime, address: str) -> bool:
    """True once the actor has stored anything, or while a command that may create it has it active.

    Asking never activates it."""
    return address in runtime.cells or runtime.store.actor_known(address)


def existing(ctx: Everturn, address: str) -> str:
    """``address`` if it exists; else 404, the very answer a token gets for what it may not reach."""
    if not actor_exists(ctx.runtime, address):
        raise not_found(address)
    return address


def admitted(ctx: Everturn, address: str, command: Command) -> str:
    """``address`` if ``command`` may go there: the actor exists, or the command is one that creates it.

    A creating command's id may not hold the child separator ``.`` (422 ``actor/invalid_id``)
    nor equal the id of an existing actor of another campaign-scoped kind, which the same
    tokens would reach (422 ``actor/id_taken``).  Anything else sent to a missing actor is
    404 and activates nothing."""
    runtime = ctx.runtime
    if actor_exists(runtime, address):
        return address
    if type(command) not in runtime.behavior_of(address).creates:
        raise not_found(address)
    kind, actor_id = address.split("/", 1)
    if kind in ctx.settings.campaign_kinds:
        if not scope_id_allowed(actor_id):
            raise ApiError(422, "actor/invalid_id", f"{address}: {SCOPE_ID_RULE}")
        for other in sorted(ctx.settings.campaign_kinds & runtime.behaviors.keys() - {kind}):
            if actor_exists(runtime, f"{other}/{actor_id}"):
                raise ApiError(422, "actor/id_taken", f"{other}/{actor_id} exists: campaigns and games take "
                               "distinct ids, since a token scoped to the id would reach both")
    return address


async def json_body(empty: Any = None) -> Any:
    """The request's JSON object; an empty body counts as ``empty`` when that is given."""
    raw = await request.get_data(cache=False)
    request.everturn_body_read = True
    if not raw and empty is not None:
        return empty
    try:
        body = decoding.loads(raw or b"null")
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "body must be a JSON object")
    return body


def validated(model: type[BaseModel], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the body does not validate", orjson.loads(exc.json(include_url=False))) from exc


def client_commands(runtime: Runtime, address: str) -> dict[str, type[Command]]:
    behavior = runtime.behavior_of(address)
    return {c.__name__: c for c in behavior.commands if not issubclass(c, Internal)}


def parse_command(runtime: Runtime, address: str, body: Any) -> Command:
    """``{"type": "PostAction", "data": {...}}`` -> the actor kind's command; 422 otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ApiError(422, "command/invalid", 'a command is {"type": "<CommandName>", "data": {...}}')
    commands = client_commands(runtime, address)
    cls = commands.get(body["type"])
    if cls is None:
        raise ApiError(422, "command/unknown", f"{address.split('/')[0]} has no command {body['type']!r}",
                       {"accepted": sorted(commands)})
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ApiError(422, "command/invalid", "command data must be a JSON object")
    try:
        command = cls.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "command/invalid", f"{body['type']} does not validate",
                       orjson.loads(exc.json(include_url=False))) from exc
    where = oversized_integer(command.model_dump())  # after validation: lax mode makes 1e30 an int
    if where is not None:
        raise ApiError(422, "command/invalid", f"{body['type']}: integers must fit in 64 bits (signed)",
                       {"loc": ["data", *where]})
    return command


INT64 = range(-(2**63), 2**63)


def oversized_integer(value: Any) -> list[Any] | None:
    """The path to the first integer in a JSON value that does not fit a signed 64-bit one.

    Journals and snapshots hold what commands carry; a state built from wider integers
    could no longer be stored, so such commands never reach an actor.
    """
    if type(value) is int:
        return None if value in INT64 else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        where = oversized_integer(item)
        if where is not None:
            return [key, *where]
    return None


async def ask(runtime: Runtime, address: str, command: Command, principal: Principal,
              idempotency_key: str | None = None) -> Any:
    try:
        return await runtime.ask(address, command, wait_for_room=False, by=principal.as_dict(),
                                 idempotency_key=idempotency_key)
    except ActorError as exc:
        raise from_actor_error(exc) from exc


def event_json(behavior: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """A journal record as clients see it (upcast to the current version)."""
    return event_body(behavior.load_event(stored))


def state_json(behavior: Any, state: Any, viewer: dict[str, Any]) -> dict[str, Any]:
    """An actor's state as ``viewer`` may see it (``Behavior.projects``)."""
    return behavior.project_state(state, viewer) if behavior.projects(viewer) else state.model_dump(mode="json")


def projected_events(runtime: Runtime, address: str, after: int, limit: int, viewer: dict[str, Any]) -> list[Any]:
    """Up to ``limit`` journal records after ``after`` as ``viewer`` may see them (blocking: run it in a thread).

    Each event is projected from the state right after it: the state after ``after`` is
    rebuilt from storage, then each event of the page is folded in.
    """
    behavior = runtime.behavior_of(address)
    state, at = runtime.state_at(address, after)
    if at != after:
        return []  # nothing after the cursor (yet)
    items = []
    for seq, stored in runtime.store.read_journal(address, after=after, limit=limit):
        event = behavior.load_event(stored)
        state = behavior.evolve(state, event)
        items.append({"seq": seq, **event_body(event, behavior.project_event(state, event, viewer))})
    return items


def page_json(items: list[dict[str, Any]], limit: int, position: str) -> dict[str, Any]:
    """A page from up to ``limit + 1`` items read after the cursor: the extra one says there is more."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": cursor_for(items[-1][position]) if more else None}


def cursor_for(position: int | str) -> str:
    """An opaque cursor: ``p<n>`` after a journal position, ``a<address>`` after a name."""
    mark = "a" if isinstance(position, str) else "p"
    return base64.urlsafe_b64encode(f"{mark}{position}".encode()).decode().rstrip("=")


def page_args(by_name: bool = False) -> tuple[Any, int]:
    """``(after, limit)`` from ``?cursor=&limit=`` (default 50, at most 200); 400 if malformed.

    ``after`` is a position (an int, 0 for the first page), or with ``by_name`` an address
    ("" for the first page)."""
    raw_limit = request.args.get("limit", "50")
    if not LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= 200:
        raise ApiError(400, "bad_limit", "limit must be a whole number from 1 to 200")
    cursor = request.args.get("cursor")
    after: Any = "" if by_name else 0
    if cursor:
        try:
            decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except ValueError:
            decoded = ""
        position = (NAME_CURSOR if by_name else CURSOR).fullmatch(decoded)
        if position is None or (not by_name and int(position[1]) > MAX_POSITION):
            raise ApiError(400, "bad_cursor", "cursor is not one this server gave out")
        after = position[1] if by_name else int(position[1])
    return after, int(raw_limit)


LIMIT = re.compile(r"[0-9]{1,3}", re.ASCII)
CURSOR = re.compile(r"p([0-9]{1,20})", re.ASCII)
NAME_CURSOR = re.compile(r"a([a-z][a-z0-9_]*/[A-Za-z0-9_.-]{1,200})", re.ASCII)
MAX_POSITION = 2**64 - 1  # journal positions are unsigned 64-bit keys
HISTORY_SAMPLES = 300  # runtime figures kept: ten minutes at the default sample interval

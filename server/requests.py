"""What every route does with a request: authenticate it, read and validate its body, check what it names.

Routes (``server.routes``) and the websocket session (``server.ws``) share these; each
raises ``ApiError`` with the status and code the client sees.  ``everturn()`` is the app's
context (``server.context.Everturn``) inside a request.
"""
from __future__ import annotations

import base64
import functools
import logging
import re
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from quart import Response, current_app, request

from actors import ActorError, Behavior, Command, Internal, Runtime, parse_address

from . import decoding
from .auth import SCOPE_ID_RULE, Principal, claimed_token_id, scope_id_allowed
from .context import Everturn
from .errors import ApiError, from_actor_error, not_found
from .frames import event_body

log = logging.getLogger("everturn.server")


def everturn() -> Everturn:
    """The app's context, inside a request."""
    return current_app.everturn  # type: ignore[attr-defined,no-any-return]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, headers=headers, content_type="application/json")


def authenticate(ctx: Everturn, token: str | None = None) -> Principal:
    """The request's principal; 401 without a valid token, 429 past its rate limit."""
    if token is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "auth/missing", "send 'Authorization: Bearer <token>'")
    principal = verified(ctx, token.strip(), client_address(ctx))
    wait = ctx.limiter.take(principal.token_id, cost_of(principal))
    if wait is not None:
        raise ApiError(429, "rate_limited", "too many requests for this token", retry_after=wait)
    return principal


BRIDGE_COST = 0.25  # a VTT bridge carries a whole table (every player's chat, rolls, turns) on one token


def cost_of(principal: Principal) -> float:
    """What one request spends of its token's rate budget."""
    return BRIDGE_COST if principal.role == "bridge" else 1.0


def client_address(ctx: Everturn) -> str:
    """The address of the client behind this request (on a sharded server, as the first shard saw it)."""
    return ctx.shards.client_address() if ctx.shards is not None else request.remote_addr or "unknown"


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


def created_campaign(ctx: Everturn, address: str) -> Any:
    """The campaign's state; 404 until it is created."""
    state, _ = ctx.runtime.state_of(address)
    if not state.created:
        raise not_found(address)
    return state


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
    return runtime.exists(address)


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
    return _client_commands(type(runtime.behavior_of(address)))


@functools.cache
def _client_commands(kind: type[Behavior]) -> dict[str, type[Command]]:  # a class's commands (a ClassVar) stay
    return {c.__name__: c for c in kind.commands if not issubclass(c, Internal)}


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
    state = None
    if behavior.projection_reads_state:
        state, at = runtime.state_at(address, after)
        if at != after:
            return []  # nothing after the cursor (yet)
    items = []
    for seq, stored in runtime.journal(address, after=after, limit=limit):
        event = behavior.load_event(stored)
        if state is not None:
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
    unknown = sorted(set(request.args) - {"cursor", "limit"})
    if unknown:
        raise ApiError(400, "bad_query", f"unknown query parameter {unknown[0]!r}; pages take cursor and limit")
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

"""Invitations: a GM invites a seat with a link; whoever opens it first gets a player token for that seat.

The link's code is ``<invite id>.<secret>``; the campaign journals only the secret's SHA-256
(``actors.campaign.invites``) and decides each claim one at a time.  A claim makes the token
first, then asks the campaign; a refused claim withdraws the token again, so a seat never has
two tokens and a claimed invite always has one.  A code's secret has 192 random bits: guessing
is hopeless, so a wrong code is not counted against the address as a failed login is (a mistyped
link must not lock a table's players out).
"""
from __future__ import annotations

import secrets
from typing import Any

from quart import Response

from actors import ActorError
from actors.campaign.messages import ClaimInvite, CreateInvite, RevokeInvite
from actors.campaign.state import HOUR, Campaign, Invite

from ..auth import digest
from ..errors import ApiError, from_actor_error
from ..grants import issue_token, withdraw_token
from ..requests import ask, created_campaign, everturn, json_body, json_response, valid_address, validated
from ..schemas import InviteClaim, InviteClaimed, InviteIssued, InviteListing, InviteRequest
from ..schemas import Invite as InviteAnswer
from .campaigns import gm_campaign
from .table import Resource

invites = Resource("invites", tag="campaigns")
GM_ONLY = "invitations are for the campaign's GM (or an operator)"


@invites.post("/api/v1/campaigns/{campaign_id}/invites",
              "GM: invite a seat; the answer's path (/join/{campaign_id}/{code}) on the web UI is a single-use link "
              "that expires, shown once", body=InviteRequest, response=InviteIssued, status=201)
async def create_invite(campaign_id: str) -> Response:
    ctx = everturn()
    address, principal = gm_campaign(ctx, campaign_id, GM_ONLY)
    body = validated(InviteRequest, await json_body(empty={}))
    state = created_campaign(ctx, address)
    now = ctx.runtime.clock.now()
    seat = body.player_id or free_seat(state, now)
    invite_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    command = CreateInvite(invite_id=invite_id, player_id=seat, digest=digest(secret), note=body.note,
                           expires_at=now + body.expires_in_hours * HOUR)
    await ask(ctx.runtime, address, command, principal)
    state, _ = ctx.runtime.state_of(address)
    code = f"{invite_id}.{secret}"
    return json_response({**invite_json(state, state.invites[invite_id], now), "code": code,
                          "path": f"/join/{campaign_id}/{code}"}, 201)


@invites.get("/api/v1/campaigns/{campaign_id}/invites", "GM: the campaign's invitations, newest first: open, "
             "claimed (by which token and character), revoked or expired", response=InviteListing)
async def list_invites(campaign_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, GM_ONLY)
    state = created_campaign(ctx, address)
    now = ctx.runtime.clock.now()
    newest_first = reversed(list(state.invites.values()))  # kept in the order they were made
    return json_response({"items": [invite_json(state, invite, now) for invite in newest_first]})


@invites.delete("/api/v1/campaigns/{campaign_id}/invites/{invite_id}",
                "GM: revoke an invitation; a claimed one's player token is revoked with it", response=InviteAnswer)
async def revoke_invite(campaign_id: str, invite_id: str) -> Response:
    ctx = everturn()
    address, principal = gm_campaign(ctx, campaign_id, GM_ONLY)
    created_campaign(ctx, address)
    await ask(ctx.runtime, address, RevokeInvite(invite_id=invite_id), principal)
    state, _ = ctx.runtime.state_of(address)
    invite = state.invites[invite_id]
    if invite.token_id is not None:
        try:
            await withdraw_token(ctx, invite.token_id)
        except RuntimeError as exc:
            raise ApiError(503, "token/not_revoked", f"the invite is revoked but a shard kept its token ({exc}); "
                           "revoke it again") from exc
    return json_response(invite_json(state, invite, ctx.runtime.clock.now()))


@invites.post("/api/v1/campaigns/{campaign_id}/invites/claim",
              "open an invite's link: its seat's player token (shown once), bound to the seat's character; "
              "no token needed, the code is the credential", body=InviteClaim, response=InviteClaimed, status=201,
              secured=False)
async def claim_invite(campaign_id: str) -> Response:
    ctx = everturn()
    address = valid_address(f"campaign/{campaign_id}")
    body = validated(InviteClaim, await json_body())
    invite_id, _, secret = body.code.partition(".")
    state, _ = ctx.runtime.state_of(address)
    invite = state.invites.get(invite_id) if state.created else None
    if invite is None or not secrets.compare_digest(invite.digest, digest(secret)):
        raise ApiError(404, "invite/unknown", "this invite link is not valid; ask your GM for a new one")
    status = invite.status(ctx.runtime.clock.now())
    if status != "open":  # checked again by the campaign; here so a dead link makes no token
        raise refused(status)
    token, principal = await issue_token(ctx, "player", campaign_id, invite.player_id)
    try:
        await ctx.runtime.ask(address, ClaimInvite(invite_id=invite_id, digest=invite.digest,
                                                   token_id=principal.token_id), wait_for_room=False)
    except ActorError as exc:
        await withdraw_token(ctx, principal.token_id)
        code = getattr(exc, "code", "")
        raise refused(code.split("/", 1)[1]) if code in ("invite/claimed", "invite/revoked", "invite/expired") \
            else from_actor_error(exc) from exc
    return json_response({"token": token, "token_id": principal.token_id, "campaign": campaign_id,
                          "character": invite.player_id, "title": state.title}, 201)


def refused(status: str) -> ApiError:
    """A link that worked once and no longer does: 410 Gone, with why."""
    why = {"claimed": "was used already", "revoked": "was revoked", "expired": "has expired"}[status]
    return ApiError(410, f"invite/{status}", f"this invite link {why}; ask your GM for a new one")


def free_seat(state: Campaign, now: float) -> str:
    """The first ``seat-N`` no player holds and no open or claimed invite names."""
    taken = set(state.players) | {i.player_id for i in state.invites.values() if i.status(now) in ("open", "claimed")}
    n = 1
    while f"seat-{n}" in taken:
        n += 1
    return f"seat-{n}"


def invite_json(state: Campaign, invite: Invite, now: float) -> dict[str, Any]:
    player = state.players.get(invite.player_id)
    return {"invite_id": invite.invite_id, "player_id": invite.player_id, "note": invite.note,
            "status": invite.status(now), "created_at": invite.created_at, "expires_at": invite.expires_at,
            "claimed_at": invite.claimed_at, "token_id": invite.token_id,
            "character": player.character.name if player is not None and invite.claimed_at is not None else None}


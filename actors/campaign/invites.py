"""Seats and their invitations: a GM invites a seat, a link's holder claims it once, the GM revokes it.

The route that serves a link holds its secret (``server.routes.invites``); the campaign keeps
only the SHA-256 of it and decides, one command at a time, whether a claim is the first and in
time, so two people opening one link never both get a seat.
"""
from __future__ import annotations

import hmac

from ..errors import Rejected
from ..messages import Event
from .messages import ClaimInvite, CreateInvite, InviteClaimed, InviteCreated, InviteRevoked, RevokeInvite
from .state import Campaign, Invite

INVITES_KEPT = 100  # invitations a campaign keeps; a new one drops the oldest revoked or expired one


def created(state: Campaign, command: CreateInvite, at: float) -> list[Event]:
    if command.invite_id in state.invites:
        raise Rejected("invite/exists", f"invite {command.invite_id} exists")
    if command.expires_at <= at:
        raise Rejected("invite/in_past", "an invite must expire in the future")
    if command.player_id in state.players:
        raise Rejected("invite/seat_taken", f"{command.player_id} has joined already; invite another seat")
    taken = [i for i in state.invites.values() if i.player_id == command.player_id and i.status(at) == "claimed"]
    if taken:
        raise Rejected("invite/seat_taken", f"seat {command.player_id} was claimed; revoke that invite first "
                       f"to give the seat to someone else")
    if len(state.invites) >= INVITES_KEPT and not _droppable(state, at):
        raise Rejected("invite/too_many", f"this campaign holds {INVITES_KEPT} open or claimed invites; revoke some")
    return [InviteCreated(invite=Invite(invite_id=command.invite_id, player_id=command.player_id,
                                        digest=command.digest, note=command.note, created_at=at,
                                        expires_at=command.expires_at))]


def claimed(state: Campaign, command: ClaimInvite, at: float) -> list[Event]:
    invite = state.invites.get(command.invite_id)
    if invite is None or not hmac.compare_digest(invite.digest, command.digest):
        raise Rejected("invite/unknown", "this invite link is not valid; ask your GM for a new one")
    status = invite.status(at)
    if status != "open":
        why = {"claimed": "was used already", "revoked": "was revoked", "expired": "has expired"}[status]
        raise Rejected(f"invite/{status}", f"this invite link {why}; ask your GM for a new one")
    return [InviteClaimed(invite_id=invite.invite_id, token_id=command.token_id, at=at)]


def revoked(state: Campaign, command: RevokeInvite, at: float) -> list[Event]:
    invite = state.invites.get(command.invite_id)
    if invite is None:
        raise Rejected("invite/unknown", f"no invite {command.invite_id}")
    if invite.revoked_at is not None:
        return []
    return [InviteRevoked(invite_id=invite.invite_id, at=at)]


def evolve(state: Campaign, event: InviteCreated | InviteClaimed | InviteRevoked) -> dict[str, Invite]:
    """The invites after ``event``."""
    invites = dict(state.invites)
    match event:
        case InviteCreated(invite=invite):
            if len(invites) >= INVITES_KEPT:
                drop = _droppable(state, invite.created_at)
                if drop is not None:
                    del invites[drop]
            invites[invite.invite_id] = invite
        case InviteClaimed(invite_id=invite_id, token_id=token_id, at=at):
            invites[invite_id] = invites[invite_id].model_copy(update={"claimed_at": at, "token_id": token_id})
        case InviteRevoked(invite_id=invite_id, at=at):
            invites[invite_id] = invites[invite_id].model_copy(update={"revoked_at": at})
    return invites


def _droppable(state: Campaign, at: float) -> str | None:
    """The oldest invite that is revoked or expired unclaimed, if any."""
    done = [i for i in state.invites.values() if i.status(at) in ("revoked", "expired")]
    return min(done, key=lambda i: i.created_at).invite_id if done else None

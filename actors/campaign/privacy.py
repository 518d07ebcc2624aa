"""What a player sees of a campaign: every post but the whispers not theirs, no edit history, no
invitation's secret.  The GM (and the server) see everything.

The event alone says what a reader sees, so projected streams keep no state
(``projection_reads_state = False``) and most events still go out as the frame every reader
shares: only a whisper, an edit and an invitation are projected reader by reader.
"""
from __future__ import annotations

from typing import Any

from ..messages import Event
from ..roles import is_gm
from .messages import InviteCreated, PostEdited, Posted
from .posts import for_viewer, visible
from .state import Campaign, Invite


def projects(viewer: dict[str, Any] | None) -> bool:
    return not is_gm(viewer)


def project_state(state: Campaign, viewer: dict[str, Any] | None) -> dict[str, Any]:
    seen = state.model_copy(update={"posts": tuple(for_viewer(post, viewer) for post in state.posts),
                                    "invites": {k: _sealed(invite) for k, invite in state.invites.items()}})
    return seen.model_dump(mode="json")


def _sealed(invite: Invite) -> Invite:
    return invite.model_copy(update={"digest": "", "note": ""})


def project_event(event: Event, viewer: dict[str, Any] | None) -> dict[str, Any] | None:
    """``event`` as a player sees it; None: as it is."""
    match event:
        case Posted(post=post) if post.kind == "whisper" or post.history:
            shown = for_viewer(post, viewer)
            return None if shown == post else Posted(post=shown).model_dump(mode="json")
        case PostEdited(to=to) if to is not None and not is_gm(viewer):
            me = (viewer or {}).get("character")
            if me != event.by and me not in to:
                return event.model_copy(update={"text": "", "by": "", "to": ()}).model_dump(mode="json")
        case InviteCreated(invite=invite):
            return InviteCreated(invite=_sealed(invite)).model_dump(mode="json")
    return None


__all__ = ["project_event", "project_state", "projects", "visible"]

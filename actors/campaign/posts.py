"""A table's posts beyond the story turn: out-of-character talk, whispers, dice in a post, edits
and deletions.  Pure decisions and folds the campaign's ``decide`` and ``evolve`` call.

Who may see a post (``visible``) is decided here once, for the server's projections and the
browser alike: a whisper only its author, its recipients and the GM; everything else everyone.
"""
from __future__ import annotations

from typing import Any

from ..errors import Forbidden, Rejected
from ..messages import Event
from ..roles import is_gm
from . import enforcement
from .messages import DiceRolled, EditPost, DeletePost, Posted, PostDeleted, PostEdited, Whisper
from .state import GM, Campaign, Post

EDIT_HISTORY = 20  # earlier texts kept per post


def with_roll(posted: Posted, rolled: DiceRolled | None) -> Posted:
    """``posted`` carrying the dice rolled with it."""
    if rolled is None:
        return posted
    return Posted(post=posted.post.model_copy(update={"roll": rolled.roll}))


def stamped(events: list[Event], by: dict[str, Any]) -> list[Event]:
    """``events`` with their posts marked as come through a VTT bridge, when ``by`` says so (the bridge
    does not send a world's own messages back to it)."""
    via = by.get("via") if by else None
    if via is None:
        return events
    return [Posted(post=e.post.model_copy(update={"via": via})) if isinstance(e, Posted) else e for e in events]


def whisper(state: Campaign, command: Whisper, author: str, at: float) -> Posted:
    """A private post from ``author`` (a player id, or the GM's token id) to ``command.to``."""
    for name in command.to:
        if name != GM and name not in state.players:
            raise Rejected("campaign/not_a_player", f"{name} has not joined this campaign; whisper to \"gm\" "
                           f"or to {', '.join(sorted(state.players)) or 'a player who has joined'}")
    to = tuple(name for name in command.to if name != author)
    if not to:
        raise Rejected("campaign/whisper_to_self", "name someone other than yourself to whisper to")
    posted = enforcement.post(state, "whisper", command.text, at, None, author=author)
    return Posted(post=posted.post.model_copy(update={"to": to}))


def own_post(state: Campaign, n: int, by: dict[str, Any], moderating: bool) -> Post:
    """Post ``n`` if ``by`` may change it: a player their own, the GM its own (``moderating``: any)."""
    post = next((p for p in state.posts if p.n == n), None)
    if post is None:
        if 1 <= n <= state.post_count:
            raise Rejected("campaign/post_too_old", f"post {n} is too old to change here")
        raise Rejected("campaign/no_such_post", f"there is no post {n}")
    if post.deleted:
        raise Rejected("campaign/post_deleted", f"post {n} was deleted")
    if is_gm(by):
        if moderating or (post.author != enforcement.SERVER and post.author not in state.players):
            return post
        raise Forbidden("campaign/not_your_post", f"post {n} is not the GM's; the GM may delete it, not edit it")
    if post.author != by.get("character"):
        raise Forbidden("campaign/not_your_post", f"post {n} is not yours")
    return post


def edited(state: Campaign, command: EditPost, by: dict[str, Any], at: float) -> list[Event]:
    post = own_post(state, command.n, by, moderating=False)
    if post.pending:
        raise Rejected("campaign/post_pending", f"the narrator is still writing post {command.n}")
    if post.text == command.text:
        return []
    return [PostEdited(n=post.n, text=command.text, at=at, by=author_of(by),
                       to=post.to if post.kind == "whisper" else None)]


def deleted(state: Campaign, command: DeletePost, by: dict[str, Any], at: float) -> list[Event]:
    post = own_post(state, command.n, by, moderating=True)
    return [PostDeleted(n=post.n, at=at, by=author_of(by))]


def author_of(by: dict[str, Any]) -> str:
    """Who a change is by: the player's character, or the GM's token."""
    if is_gm(by):
        return by.get("token_id") or GM
    return by.get("character") or by.get("token_id") or "?"


def changed(state: Campaign, event: PostEdited | PostDeleted) -> tuple[Post, ...]:
    """The posts after an edit or a deletion (the earlier text joins the post's history)."""
    def change(post: Post) -> Post:
        history = (*post.history, post.text)[-EDIT_HISTORY:]
        if isinstance(event, PostEdited):
            if not event.text and not event.by:  # a whisper's edit as a player who may not read it sees it
                return post.model_copy(update={"edited_at": event.at})
            return post.model_copy(update={"text": event.text, "edited_at": event.at, "history": history})
        return post.model_copy(update={"text": "", "deleted": True, "edited_at": event.at, "history": history,
                                       "roll": None})
    return tuple(change(p) if p.n == event.n else p for p in state.posts)


def visible(post: Post, viewer: dict[str, Any] | None) -> bool:
    """True when ``viewer`` (a principal as ``ctx.by`` has it; None: the server) may read ``post``."""
    if post.kind != "whisper" or viewer is None or is_gm(viewer):
        return True
    me = viewer.get("character")
    return me is not None and (post.author == me or me in post.to)


def for_viewer(post: Post, viewer: dict[str, Any] | None) -> Post:
    """``post`` as ``viewer`` may read it: of a whisper not theirs only its number (nobody, no text); no
    edit history but the GM's."""
    if viewer is None or is_gm(viewer):
        return post
    if not visible(post, viewer):
        return post.model_copy(update={"text": "", "author": "", "to": (), "history": (), "roll": None})
    return post.model_copy(update={"history": ()}) if post.history else post

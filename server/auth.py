"""Tokens and what they may reach.

A token is ``evt_<id>_<secret>``; the store keeps only the SHA-256 of the secret, beside
the role and scope.  Roles: ``operator`` (everything), ``gm`` (one campaign), ``player``
(one campaign, one character), ``bot`` (as a player or a GM, marked as a bot),
``bridge`` (one campaign's virtual-tabletop bridge).  A scoped token reaches the actors of
its campaign only: exactly ``kind/<campaign>`` for the campaign-scoped kinds, and the
children that actor says are its own (``Behavior.owns``: a campaign's encounters), never
by a name prefix.  Anything else answers 404, exactly like a missing actor.  A scope's id
may not hold ``.``, which separates a child's number (``combat/<campaign>.<n>``).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from actors import parse_address
from snapshots import Batch, Store, codec
from snapshots.protocol import META

Role = Literal["operator", "gm", "player", "bot", "bridge"]
ROLES: tuple[str, ...] = ("operator", "gm", "player", "bot", "bridge")
_PREFIX = b"token:"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request comes from; reaches ``decide`` as ``ctx.by``."""

    token_id: str
    role: str
    campaign: str | None = None
    character: str | None = None
    acts_as: str | None = None          # a bot acts as "player" or "gm"
    bot: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def operator(self) -> bool:
        return self.role == "operator"

    def reaches(self, address: str, campaign_kinds: frozenset[str]) -> bool:
        """True for an operator, or for exactly ``kind/<campaign>`` of a campaign-scoped kind.

        Children (a campaign's encounters) are reached through their owner's stored
        relation: see ``server.app.reachable``."""
        if self.operator:
            return True
        kind, actor_id = parse_address(address)
        return kind in campaign_kinds and actor_id == self.campaign


class TokenError(ValueError):
    """A token cannot be created as asked."""


class Tokens:
    """Token records in the store's meta column family."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, role: str, campaign: str | None = None, character: str | None = None,
               acts_as: str | None = None) -> tuple[str, Principal]:
        """Make a token; returns the secret (shown once) and its principal.  Raises ``TokenError``."""
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if role != "operator" and not campaign:
            raise TokenError(f"a {role} token needs --campaign")
        if role == "operator" and (campaign or character):
            raise TokenError("an operator token reaches everything; it takes no campaign or character")
        if role == "player" and not character:
            raise TokenError("a player token needs --character")
        if role == "bot" and acts_as not in ("player", "gm"):
            raise TokenError("a bot token needs --as player or --as gm")
        if role != "bot" and acts_as is not None:
            raise TokenError("only a bot token acts as another role")
        if campaign is not None:
            parse_address(f"campaign/{campaign}")  # same rules as an actor id
            if not scope_id_allowed(campaign):
                raise TokenError(SCOPE_ID_RULE)
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        principal = Principal(token_id, role, campaign, character, acts_as, bot=role == "bot")
        batch = Batch()
        batch.put(META, _PREFIX + token_id.encode(), codec.encode({
            "hash": digest(secret), "created": time.time(), **principal.as_dict()}))
        self.store.write([batch])
        return f"evt_{token_id}_{secret}", principal

    def verify(self, token: str | None) -> Principal | None:
        """The principal of a valid token, else None (constant-time comparison)."""
        if not token or not token.startswith("evt_"):
            return None
        token_id, _, secret = token[4:].partition("_")
        if not token_id or not secret or len(token) > 200:
            return None
        record = self.store.get_meta(_PREFIX + token_id.encode())
        if record is None:
            return None
        if not hmac.compare_digest(record["hash"], digest(secret)):
            return None
        return Principal(record["token_id"], record["role"], record["campaign"], record["character"],
                         record["acts_as"], record["bot"])

    def known(self, token_id: str) -> bool:
        """True when ``token_id`` names a token that exists (says nothing of its secret)."""
        return self.store.get_meta(_PREFIX + token_id.encode()) is not None

    def record(self, token_id: str) -> dict[str, Any] | None:
        """A token's stored record (the secret's digest, never the secret), to copy to a sibling shard."""
        return self.store.get_meta(_PREFIX + token_id.encode())

    def put_record(self, token_id: str, record: dict[str, Any]) -> None:
        """Store a record :meth:`record` gave out (tokens live on every shard of a sharded server)."""
        batch = Batch()
        batch.put(META, _PREFIX + token_id.encode(), codec.encode(record))
        self.store.write([batch])

    def revoke(self, token_id: str) -> bool:
        key = _PREFIX + token_id.encode()
        if self.store.get_meta(key) is None:
            return False
        batch = Batch()
        batch.delete(META, key)
        self.store.write([batch])
        return True

    def listing(self) -> list[dict[str, Any]]:
        """Every token's record without its secret's digest, oldest first."""
        records = [{k: v for k, v in record.items() if k != "hash"} for _, record in self.store.meta_items(_PREFIX)]
        return sorted(records, key=lambda record: record.get("created", 0.0))

    def any(self) -> bool:
        return self.store.meta_prefix_exists(_PREFIX)


def create_everywhere(stores: list[Store], role: str, campaign: str | None = None, character: str | None = None,
                      acts_as: str | None = None) -> tuple[str, Principal]:
    """A token made in ``stores[0]`` and copied to the others (the shards of one data directory each
    verify every token); as :meth:`Tokens.create` otherwise."""
    token, principal = Tokens(stores[0]).create(role, campaign, character, acts_as)
    record = Tokens(stores[0]).record(principal.token_id)
    for store in stores[1:]:
        Tokens(store).put_record(principal.token_id, record)  # type: ignore[arg-type]
    return token, principal


def claimed_token_id(token: str) -> str | None:
    """The token id a presented ``evt_<id>_<secret>`` claims (unverified); None when malformed."""
    if not token.startswith("evt_") or len(token) > 200:
        return None
    token_id = token[4:].partition("_")[0]
    return token_id if token_id.isalnum() and token_id.isascii() else None


SCOPE_ID_RULE = "a campaign or game id may not contain '.' (it separates a child's number: combat/<id>.<n>)"


def scope_id_allowed(actor_id: str) -> bool:
    """True when ``actor_id`` may name a new campaign, game or token scope (no child separator)."""
    return "." not in actor_id


def digest(secret: str) -> str:
    """What the store keeps of a secret (a token's, an invite link's): its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()

"""Actor addresses: ``kind/id``, e.g. ``campaign/7f3a`` or ``combat/7f3a.2``."""
from __future__ import annotations

import re

from .errors import InvalidAddress

KIND = r"[a-z][a-z0-9_-]{0,31}"  # an address's two parts, as patterns (the OpenAPI document states them too)
ID = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
_ADDRESS = re.compile(f"({KIND})/({ID})")


def parse(address: str) -> tuple[str, str]:
    """Split ``address`` into ``(kind, id)``; raises ``InvalidAddress``."""
    match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None:
        raise InvalidAddress(
            f"{address!r} is not an actor address: expected kind/id, kind of lowercase letters, "
            f"digits, '_' or '-', id of letters, digits, '.', '_', ':' or '-' (at most 128)"
        )
    return match.group(1), match.group(2)


def kind_of(address: str) -> str:
    return parse(address)[0]

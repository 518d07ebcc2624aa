"""Encoding of stored values: orjson inside a small checksummed envelope.

Every value is ``MAGIC + crc32(body) (4 bytes, big-endian) + body`` where ``body`` is
orjson.  A torn or bit-flipped value fails the checksum and raises ``CorruptRecord``
instead of decoding into something plausible and wrong.
"""
from __future__ import annotations

import zlib
from typing import Any

import orjson

from .errors import CorruptRecord

MAGIC = b"E1"


def encode(value: Any) -> bytes:
    body = orjson.dumps(value)
    return MAGIC + zlib.crc32(body).to_bytes(4, "big") + body


def decode(raw: bytes) -> Any:
    """Decode a value written by :func:`encode`; raises ``CorruptRecord``."""
    if len(raw) < 6 or raw[:2] != MAGIC:
        raise CorruptRecord("value has no Everturn envelope")
    body = raw[6:]
    if zlib.crc32(body).to_bytes(4, "big") != raw[2:6]:
        raise CorruptRecord("checksum mismatch")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CorruptRecord(f"undecodable body: {exc}") from exc

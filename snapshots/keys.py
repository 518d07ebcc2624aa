"""Byte layout of every key in the store.

Journal and snapshot keys are ``address + NUL + seq`` with ``seq`` an unsigned
big-endian 64-bit integer, so RocksDB's bytewise order is (address, seq) order and
one actor's records form a contiguous range ``[address+NUL, address+SOH)``.
Addresses never contain NUL (see ``actors.address``), so no address's range overlaps
another's.

Idempotency records (meta) are ``idem:`` + address + NUL + the client's key; each has an
expiry entry ``idex:`` + when it was written (ms, big-endian) + its record's key, so the
oldest can be found and pruned without scanning the rest.

Timer keys live in one column family under two prefixes: ``D`` + due (ms, big-endian)
+ address + NUL + name orders timers by due time; ``N`` + address + NUL + name points
back to the due time so a timer can be cancelled or rescheduled by name.

The meta column family also holds ``actor:`` + address (what each actor registered),
``halted:`` + address (an operator's stop) and ``deadletter:`` + number (big-endian).
"""
from __future__ import annotations

SEP = b"\x00"
_END = b"\x01"
_U64 = 1 << 64
DUE_PREFIX = b"D"
NAME_PREFIX = b"N"
ACTOR_PREFIX = b"actor:"
HALTED_PREFIX = b"halted:"
DEAD_LETTER_PREFIX = b"deadletter:"


def _addr(address: str) -> bytes:
    raw = address.encode()
    if SEP in raw:
        raise ValueError(f"address {address!r} contains NUL")
    return raw


def seq_key(address: str, seq: int) -> bytes:
    """Key of record ``seq`` (1-based) of ``address`` in the journal or snapshots."""
    if not 0 <= seq < _U64:
        raise ValueError(f"sequence number {seq} out of range")
    return _addr(address) + SEP + seq.to_bytes(8, "big")


def actor_range(address: str) -> tuple[bytes, bytes]:
    """Half-open key range ``[lo, hi)`` holding every record of ``address``."""
    raw = _addr(address)
    return raw + SEP, raw + _END


def split_seq_key(key: bytes) -> tuple[str, int]:
    """Inverse of :func:`seq_key`."""
    if len(key) < 10 or key[-9:-8] != SEP:
        raise ValueError(f"not a sequence key: {key!r}")
    return key[:-9].decode(), int.from_bytes(key[-8:], "big")


def idempotency_key(address: str, key: str) -> bytes:
    """Meta key of the record of an accepted command's idempotency ``key`` at ``address``."""
    return b"idem:" + _addr(address) + SEP + key.encode()


IDEMPOTENCY_EXPIRY_PREFIX = b"idex:"


def idempotency_expiry_key(at_ms: int, record_key: bytes) -> bytes:
    """Meta key that orders idempotency records by the time they were written."""
    if not 0 <= at_ms < _U64:
        raise ValueError(f"time {at_ms} ms out of range")
    return IDEMPOTENCY_EXPIRY_PREFIX + at_ms.to_bytes(8, "big") + record_key


def split_idempotency_expiry_key(key: bytes) -> tuple[int, bytes]:
    """Inverse of :func:`idempotency_expiry_key`: ``(at_ms, record_key)``."""
    body = key[len(IDEMPOTENCY_EXPIRY_PREFIX):]
    return int.from_bytes(body[:8], "big"), body[8:]


def timer_due_key(due_ms: int, address: str, name: str) -> bytes:
    if not 0 <= due_ms < _U64:
        raise ValueError(f"due time {due_ms} ms out of range")
    return DUE_PREFIX + due_ms.to_bytes(8, "big") + _addr(address) + SEP + name.encode()


def split_timer_due_key(key: bytes) -> tuple[int, str, str]:
    due = int.from_bytes(key[1:9], "big")
    address, _, name = key[9:].partition(SEP)
    return due, address.decode(), name.decode()


def timer_name_key(address: str, name: str) -> bytes:
    return NAME_PREFIX + _addr(address) + SEP + name.encode()


def timer_name_range(address: str) -> tuple[bytes, bytes]:
    raw = NAME_PREFIX + _addr(address)
    return raw + SEP, raw + _END

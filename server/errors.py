"""Errors at the HTTP and websocket edge, and how runtime errors translate to them.

    ApiError(status, code, message, details)   one JSON shape for every failure:
    │                                           {"error": {code, message, details}, "request_id"}
    ├── 400 bad request      malformed JSON, bad parameters, bad address
    ├── 401 unauthorized     no token, unknown or revoked token
    ├── 403 forbidden        the token's role may not do this (operator endpoints, GM-only commands)
    ├── 404 not found        no such thing, or one the token may not see (same answer)
    ├── 409 conflict         the actor rejected the command (its namespaced code)
    ├── 413 too large        body or frame over the limit
    ├── 422 unprocessable    well-formed but invalid command or body (pydantic details)
    ├── 429 too many         rate limit or a full mailbox, with Retry-After
    ├── 500 internal         a bug: the actor crashed on every attempt (dead-lettered)
    ├── 503 unavailable      shutting down, an actor stopped by an operator, no answer in time,
    │                        stored history unreadable (``storage/corrupt``: never a shorter history),
    │                        or a disk that does not write (``storage/read_only``, ``storage/io``)
    └── 507 insufficient     the disk is full (``storage/full``): reads go on, writes resume once
                             space is freed, with Retry-After
"""
from __future__ import annotations

from typing import Any

from actors import (
    ActorCorrupt, ActorCrashed, ActorError, ActorHalted, ActorStopped, AskTimeout, BadSince, Forbidden, InvalidAddress,
    Overloaded, Rejected, StorageDown, UnknownKind,
)
from snapshots import StorageUnavailable, StoreCorrupt


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None, *,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def body(self, request_id: str | None) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details},
                "request_id": request_id}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist or is not visible to this token")


def from_actor_error(exc: ActorError) -> ApiError:
    """Translate a runtime error; nothing crosses the edge untranslated."""
    match exc:
        case Forbidden():
            return ApiError(403, exc.code, exc.message, exc.details or None)
        case Rejected():
            return ApiError(409, exc.code, exc.message, exc.details or None)
        case InvalidAddress():
            return ApiError(400, exc.code, str(exc))
        case UnknownKind():
            return ApiError(404, "not_found", str(exc))
        case BadSince():
            return ApiError(400, exc.code, str(exc))
        case Overloaded():
            return ApiError(429, exc.code, str(exc), retry_after=1)
        case AskTimeout():
            return ApiError(503, exc.code, "the actor did not answer in time; the command may still be applied: "
                            "retry with the same Idempotency-Key to learn whether it was", retry_after=1)
        case StorageDown():
            return storage_error(exc.code, exc.message, exc.applied, exc.retry_after)
        case ActorHalted() | ActorCorrupt():
            return ApiError(503, exc.code, str(exc))
        case ActorStopped():
            return ApiError(503, exc.code, "the server is shutting down", retry_after=5)
        case ActorCrashed():
            return ApiError(500, exc.code, str(exc))
    return ApiError(500, exc.code, str(exc))


def storage_error(code: str, message: str, applied: bool | None, retry_after: float | None) -> ApiError:
    """A write the disk refused: 507 when it is full, else 503; ``details.applied`` false or null (unknown)."""
    return ApiError(507 if code == "storage/full" else 503, code, message, {"applied": applied},
                    retry_after=retry_after or 1)


def from_storage_unavailable(exc: StorageUnavailable) -> ApiError:
    """A direct write of the store (a token, a halt) the disk refused."""
    return storage_error(exc.code, str(exc), exc.applied, exc.retry_after)


def from_store_corrupt(exc: StoreCorrupt) -> ApiError:
    """A read of the store met a damaged block: 503, never an answer from what could be read."""
    return ApiError(503, exc.code, f"stored data unreadable: {exc}")

"""Errors of the actor runtime.

    ActorError                  anything a caller of the runtime can be told
    ├── InvalidAddress          not of the form ``kind/id``
    ├── UnknownKind             no behaviour is registered for the address's kind
    ├── Overloaded              the mailbox is full (``try_tell``); retry later
    ├── AskTimeout              no reply within the ask's timeout
    ├── Rejected                ``decide`` refused the command (code, message); nothing changed
    ├── ActorCrashed            the command crashed the actor on every attempt; dead-lettered
    ├── ActorStopped            the runtime is shutting down and takes no more messages
    ├── ActorHalted             an operator stopped this actor; nothing reaches it until started
    ├── ActorCorrupt            the actor's stored history is unreadable (``storage/corrupt``); it does not start
    ├── StorageDown             the command could not be stored: disk full, read-only or failing (``storage/...``)
    ├── InvariantViolation      ``evolve`` met an event impossible in the current state
    ├── WorkerCrashed           a worker process died (a signal, the OOM killer) while it ran a call
    └── WorkerTimeout           a worker process did not answer within the call's time limit; it was killed
"""
from __future__ import annotations


class ActorError(Exception):
    """Base class of every error the runtime reports to a caller."""

    code = "runtime/error"


class InvalidAddress(ActorError, ValueError):
    code = "runtime/invalid_address"


class UnknownKind(ActorError, LookupError):
    code = "runtime/unknown_kind"


class Overloaded(ActorError):
    """The actor's mailbox is full; the caller should back off and retry."""

    code = "runtime/overloaded"

    def __init__(self, address: str, capacity: int) -> None:
        super().__init__(f"mailbox of {address} is full ({capacity} messages waiting)")
        self.address = address
        self.capacity = capacity


class AskTimeout(ActorError, TimeoutError):
    code = "runtime/ask_timeout"


class Rejected(ActorError):
    """Raised by ``decide`` to refuse a command; ``code`` is namespaced (``campaign/not_a_player``)."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    def __repr__(self) -> str:
        return f"Rejected({self.code!r}, {self.message!r})"


class Forbidden(Rejected):
    """A refusal because of who asked (not the GM, not your character): HTTP 403."""


class ActorCrashed(ActorError):
    """The command crashed its actor on every attempt; it is in the dead letters."""

    code = "runtime/actor_crashed"


class ActorStopped(ActorError):
    code = "runtime/stopped"


class ActorHalted(ActorError):
    """An operator stopped the actor (durably): messages are refused and its timers held."""

    code = "runtime/actor_halted"


class ActorCorrupt(ActorError):
    """The actor's stored history cannot be read (RocksDB reports a damaged block): it is not started.

    Nothing reaches it until the data is repaired and the server restarted, so it can never
    acknowledge a command at a seq it used before the damage.
    """

    code = "storage/corrupt"

    def __init__(self, address: str, cause: str) -> None:
        super().__init__(f"{address}: stored history unreadable, the actor is not started ({cause})")
        self.address = address
        self.cause = cause


class StorageDown(ActorError):
    """The command's events could not be stored (``storage/full``, ``storage/read_only``, ``storage/io``):
    the actor is unchanged and goes on; writes resume once the disk takes them again.

    ``applied`` is False when nothing reached the store, None when the write reached it but its
    sync failed (a retry with the same idempotency key then tells); ``retry_after`` in seconds.
    """

    def __init__(self, code: str, message: str, applied: bool | None = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.applied = applied
        self.retry_after = retry_after


class InvariantViolation(ActorError):
    """``evolve`` was given an event that cannot happen in the current state."""

    code = "runtime/invariant_violation"


class WorkerCrashed(ActorError):
    """A worker process (``Workers.in_process``, the narrator's) died while it ran the call; its pool starts another."""

    code = "runtime/worker_crashed"


class WorkerTimeout(ActorError, TimeoutError):
    """A worker process (``Workers.in_process``) ran a call past its ``timeout_s`` (hung, stopped, spinning in
    native code): it was killed, and the next call starts another."""

    code = "runtime/worker_timeout"

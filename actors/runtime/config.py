"""The runtime's tunables (``RuntimeConfig``); the defaults are the documented ones."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeConfig:
    """Tunables of the runtime; the defaults are the documented ones."""

    mailbox_capacity: int = 256
    snapshot_every: int = 100
    pipeline_depth: int = 64               # commands an actor decides ahead of its durable writes (1: none)
    idle_passivate: float = 600.0          # seconds idle before an actor leaves memory
    max_active: int = 100_000              # active actors before LRU eviction
    restart_intensity: int = 1             # restarts allowed ...
    restart_period: float = 5.0            # ... within this many seconds (OTP's default)
    backoff_base: float = 0.05             # first restart delay, doubled per restart
    backoff_max: float = 5.0
    escalation_delay: float = 1.0          # delay after an escalation, doubled per escalation
    escalation_delay_max: float = 60.0
    max_attempts: int = 2                  # a message crashing this often is dead-lettered
    kind_intensity: int = 10               # escalations per kind ...
    kind_period: float = 60.0              # ... within this many seconds mark the kind degraded
    ask_timeout: float = 10.0
    shutdown_grace: float = 10.0
    commit_mode: str = "thread"            # "thread": the WAL sync off the loop; "inline": synced write on it
    storage_retry_first: float = 0.5       # a store at fault tries to write again after this long ...
    storage_retry_last: float = 30.0       # ... doubling up to this
    lag_interval: float | None = 0.5
    resume_window: int = 10_000            # a stream resumes from the journal at most this far back
    idempotency_retention: float = 7 * 86400.0  # game-clock seconds a command id is remembered
    idempotency_sweep: float | None = 3600.0    # seconds between prunings of older ones (None: never)
    worker_threads: int = 4                # blocking work of ours off the loop (estimates, storage reads, search)
    worker_processes: int = 0              # the shared process pool (pure-Python number crunching); 0: none
    thread_pools: tuple[tuple[str, int], ...] = ()  # named thread pools of their own (Work(pool=...))
    # named pools of supervised worker processes (Work(where="process", pool=...)): native code we do not
    # control (torch) runs there, never in the server; each is the number of calls it runs at once
    process_pools: tuple[tuple[str, int], ...] = (("training", 1), ("policy", 1))
    worker_backoff_base: float = 0.05      # a crashed worker's replacement waits this long, doubled per crash
    worker_backoff_max: float = 5.0        # ... in a row, up to this

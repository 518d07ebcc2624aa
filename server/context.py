"""What every handler reaches through ``app.everturn``: the runtime, the tokens, the settings, the counters."""
from __future__ import annotations

import os
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from prometheus_client import CollectorRegistry

from actors import Runtime

from .auth import Tokens
from .bestiary import Bestiary
from .bridge.hub import Hub
from .frames import EventFrames, StatesAfter
from .limits import AuthThrottle, RateLimiter
from .memory import DROP, Trimmer
from .metrics import ServerMetrics

if TYPE_CHECKING:
    from actors.narration.service import Narrator

HISTORY_SAMPLES = 300  # runtime figures kept: ten minutes at the default sample interval


@dataclass
class ServerSettings:
    campaign_kinds: frozenset[str] = frozenset({"campaign", "combat", "strategy"})  # a scoped token reaches
    # kind/<its campaign> of these: a strategy game's players hold tokens scoped to the game's id
    max_body_bytes: int = 1 << 20
    max_frame_bytes: int = 256 * 1024
    rate: float = 50.0
    burst: float = 100.0
    ws_queue: int = 256
    lean_ws: bool = True  # /ws on the lean edge (server.edge); off: every websocket through hypercorn and quart
    ws_subscriptions_per_connection: int = 256  # beyond: ws error ws/too_many_subscriptions
    ws_subscriptions_per_token: int = 1024      # over all of a token's connections, likewise
    auth_failure_burst: float = 10.0  # failed authentications per client address and per token id at once,
    auth_failure_every_s: float = 6.0  # then one per this many seconds; beyond: 429 auth/throttled
    heartbeat_s: float = 20.0
    backup_dir: str | None = None
    advance_wait: float = 30.0  # seconds a clock advance waits for its timers to be handled
    sample_interval_s: float = 2.0  # runtime figures kept for the console's plots, this often
    models: Path = Path("models")  # the model registry GET /api/v1/admin/models lists (training jobs register there)
    search: bool = True  # index DATA/search (snapshots.search): posts, encounter summaries, rulebooks
    search_commit_s: float = 0.5  # the index commits at most this often
    trim_after_closed: int = DROP  # websockets closed since their peak before memory goes back (server.memory)
    webhooks_allow_private: bool = False  # webhooks may call http and private, loopback, link-local addresses
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 8  # tries of one delivery before it counts as failed
    webhook_backoff_s: float = 60.0  # the first retry's wait; each next one waits twice as long (at most 6 h)
    ui_url: str | None = None  # the web UI's address, for links in notices (everturn serve sets it)


@dataclass
class Everturn:
    """What every handler reaches through ``app.everturn``."""

    runtime: Runtime
    tokens: Tokens
    settings: ServerSettings
    limiter: RateLimiter
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    event_frames: EventFrames = field(default_factory=EventFrames)
    states_after: StatesAfter = field(default_factory=StatesAfter)
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_SAMPLES))
    narrator: Narrator | None = None  # the server's (everturn serve --narrator-model); None: templates only
    webhooks: Any = None  # server.webhooks.service.Webhooks, set by run_server
    search: Any = None  # snapshots.search.Indexer, set by run_server once the index is open; None: no search
    books: Any = None  # snapshots.search.rules.Rulebooks of the data directory (set by create_app)
    rephrase: Any = None  # async (question, answer) -> text: the narrator rephrasing rules answers; None: extracts
    subscriptions_by_token: Counter[str] = field(default_factory=Counter)  # live websocket subscriptions
    auth_throttle: AuthThrottle = field(default_factory=AuthThrottle)
    backups_removed: list[dict[str, Any]] = field(default_factory=list)  # interrupted ones run_server cleared
    backups_running: set[str] = field(default_factory=set)  # names of the backups being written now
    trimmer: Trimmer = field(init=False)
    bestiary: Bestiary = field(init=False)
    bridges: Hub = field(init=False)  # memory back to the system after a crowd leaves
    sessions: set[Any] = field(default_factory=set)  # the open websocket sessions (server.ws.Session)
    # The OpenAPI document of this app's routes: create_app lends it, since the routes that serve it cannot
    # import the table that lists them.
    spec: Callable[[], dict[str, Any]] = dict
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)  # /metrics: see server.metrics
    shards: Any = None  # server.shards.forwarding.Shards of a sharded server (everturn serve --shards N); None: one process
    handoff: Any = None  # server.shards.handoff.Handoff of a sharded server: websockets moved to their owner

    def __post_init__(self) -> None:
        self.trimmer = Trimmer(self.settings.trim_after_closed)
        self.bestiary = Bestiary(self.tokens.store)  # the GMs' saved creatures, beside the tokens
        self.bridges = Hub(self.tokens.store)  # the VTT worlds' command queues and their emitters

    def figures(self) -> dict[str, Any]:
        """``GET /api/v1/admin/runtime``: the runtime's figures, the time, websocket clients."""
        figures = {**self.runtime.figures(), "at": time.time(), "websocket_clients": self.metrics.websockets,
                   "memory_trims": self.trimmer.trims}
        if self.shards is not None:
            peers = self.shards.peers
            figures["shard"] = {"index": peers.index, "count": peers.count, "pid": os.getpid(),
                                "private_port": peers.private_ports[peers.index],
                                "requests_forwarded": self.shards.forwarded, "websockets_moved_out":
                                self.handoff.moved_out, "websockets_moved_in": self.handoff.moved_in}
        return figures

    async def sample_forever(self) -> None:
        """Keep the last ``HISTORY_SAMPLES`` figures (the console's plots start with them)."""
        while True:
            figures = self.figures()
            figures["stopped"] = len(figures["stopped"])
            self.history.append(figures)
            await self.trimmer.observe(self.metrics.websockets)
            await trio.sleep(self.settings.sample_interval_s)

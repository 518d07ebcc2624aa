"""Ask timeouts without a cancel scope per ask: one task fails the replies not answered in time.

A websocket client's commands are submitted and then answered (``Runtime.answer``); a trio
cancel scope with a deadline around each wait cost about as much as a third of deciding a
campaign command (its deadline is registered and unregistered on the runner every time).
Here each wait adds one entry to a heap by deadline, and one task wakes at the earliest
deadline still unanswered and fails what has run out of time with the error it is given.
A reply answered in time leaves its entry behind until that entry reaches the head; while
any are waiting the task also looks every ``PRUNE_S`` and drops the answered ones at the
head, so under load the heap holds about that long's replies, not ``ask_timeout``'s.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Callable

import trio

from .cell import Reply

PRUNE_S = 0.5


class ReplyDeadlines:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Reply, Callable[[], BaseException]]] = []
        self._order = itertools.count()  # ties: first come, first failed (and never a Reply compared)
        self._sooner = trio.Event()       # set when a deadline earlier than the one slept for arrives

    def __len__(self) -> int:
        return len(self._heap)

    def watch(self, reply: Reply, deadline: float, error: Callable[[], BaseException]) -> None:
        """Fail ``reply`` with ``error()`` unless it is answered by ``deadline`` (trio time)."""
        heapq.heappush(self._heap, (deadline, next(self._order), reply, error))
        if self._heap[0][2] is reply:
            self._sooner.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        heap = self._heap
        while True:
            now = trio.current_time()
            while heap and (heap[0][2].done or heap[0][0] <= now):
                _, _, reply, error = heapq.heappop(heap)
                if not reply.done:
                    reply.fail(error())
            self._sooner = trio.Event()
            if heap:
                with trio.move_on_at(min(heap[0][0], now + PRUNE_S)):
                    await self._sooner.wait()
            else:
                await self._sooner.wait()

"""Pipelined journaling (issue 22): a busy actor decides ahead of its writes, and nothing leaves early.

The disk is held busy by taking the group commit's I/O lock (what the storage recovery
holds to reopen the store): the write under way waits, so the test sees exactly what is
decided, what is durable and what has left.
"""
from __future__ import annotations

import errno

import pytest
import trio
import trio.testing

from actors import Ack, Rejected, RuntimeConfig, StorageDown, TrioClock, open_runtime

from ..kinds import Add, LedgerKind

KIND = LedgerKind()


def config(**overrides) -> RuntimeConfig:
    return RuntimeConfig(lag_interval=None, **overrides)


async def outcome(reply):
    try:
        return await reply.wait()
    except (Rejected, StorageDown) as exc:
        return exc


async def test_a_busy_actor_decides_ahead_and_one_write_carries_its_commands_acked_in_order(store, autojump_clock):
    async with open_runtime(store, [KIND], clock=TrioClock(), config=config()) as rt:
        assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=1, events=1)
        cell, writes = rt.cells["ledger/a"], rt.commits.stats.writes
        amounts = [2, 3, 0, 4, 5, 6, 7, 8]  # 0 is rejected: decided on the state after the commands before it
        published: list[int] = []

        async def follow():
            async with rt.subscribe("ledger/a", since=1) as items:
                async for item in items:
                    published.append(item.seq)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            await trio.testing.wait_all_tasks_blocked()
            async with rt.commits.io:  # the disk is busy: the first write waits
                replies = [rt.submit("ledger/a", Add(amount=n)) for n in amounts]
                await trio.testing.wait_all_tasks_blocked()
                assert (cell.head_seq, cell.head_state.total) == (8, 36)   # decided, all of them
                assert len(cell.pending) == len(amounts)
                assert rt.state_of("ledger/a") == (cell.state, 1)           # but nothing is durable yet ...
                assert rt.acknowledged("ledger/a") == 1
                assert not any(reply.done for reply in replies)             # ... nor answered, rejections too
                assert published == []                                      # ... nor published
            # the writes finish: answers leave in order, each once every earlier one has
            while not all(reply.done for reply in replies):
                done = [reply.done for reply in replies]
                assert done == sorted(done, reverse=True), done
                await trio.lowlevel.checkpoint()
            answers = [await outcome(reply) for reply in replies]
            assert answers[:2] == [Ack(seq=2, events=1), Ack(seq=3, events=1)]
            assert isinstance(answers[2], Rejected) and answers[2].code == "ledger/zero"
            assert answers[3:] == [Ack(seq=s, events=1) for s in range(4, 9)]
            assert rt.commits.stats.writes - writes == 2  # the first command's write, then the other six in one
            assert rt.state_of("ledger/a")[1] == 8 and store.last_seq("ledger/a") == 8
            await trio.testing.wait_all_tasks_blocked()
            assert published == list(range(2, 9))
            nursery.cancel_scope.cancel()


async def test_a_failed_write_fails_the_commands_decided_after_it_and_the_actor_goes_on(store, autojump_clock):
    async with open_runtime(store, [KIND], clock=TrioClock(),
                            config=config(storage_retry_first=0.5, storage_retry_last=1.0)) as rt:
        assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=1, events=1)
        cell = rt.cells["ledger/a"]
        async with rt.commits.io:
            replies = [rt.submit("ledger/a", Add(amount=n)) for n in (2, 0, 3)]
            await trio.testing.wait_all_tasks_blocked()
            assert cell.head_seq == 3
            # the disk fills up under the write under way: the breaker opens, both writes are refused
            store.health.trip(OSError(errno.ENOSPC, "No space left on device"), applied=False)
        answers = [await outcome(reply) for reply in replies]
        assert all(isinstance(a, StorageDown) and a.code == "storage/full" and a.applied is False for a in answers), \
            answers  # the rejection too: it was decided on a state that never became durable
        assert (cell.seq, cell.head_seq, cell.state.total, cell.head_state.total) == (1, 1, 1, 1)
        while store.health.degraded:
            await trio.sleep(0.5)
        assert await rt.ask("ledger/a", Add(amount=10)) == Ack(seq=2, events=1)
        assert rt.state_of("ledger/a")[0].history == (1, 10)
        assert [seq for seq, _ in store.read_journal("ledger/a")] == [1, 2]


async def test_a_retried_key_still_in_the_pipeline_is_answered_from_the_stored_record(store, autojump_clock):
    async with open_runtime(store, [KIND], clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        async with rt.commits.io:
            first = rt.submit("ledger/a", Add(amount=5), idempotency_key="k1")
            again = rt.submit("ledger/a", Add(amount=5), idempotency_key="k1")
            await trio.testing.wait_all_tasks_blocked()
        assert await first.wait() == await again.wait() == Ack(seq=2, events=1)
        assert rt.state_of("ledger/a")[0].history == (1, 5)


@pytest.mark.parametrize("depth", [1, 3])
async def test_the_pipeline_depth_bounds_how_far_ahead_an_actor_decides(store, autojump_clock, depth):
    async with open_runtime(store, [KIND], clock=TrioClock(), config=config(pipeline_depth=depth)) as rt:
        await rt.ask("ledger/a", Add(amount=1))
        cell = rt.cells["ledger/a"]
        async with rt.commits.io:
            replies = [rt.submit("ledger/a", Add(amount=n)) for n in range(2, 10)]
            await trio.testing.wait_all_tasks_blocked()
            assert len(cell.pending) == depth and cell.head_seq == 1 + depth
        assert [(await reply.wait()).seq for reply in replies] == list(range(2, 10))

"""The runtime as its users see it: ask, tell, crashes, dead letters, passivation, mailboxes."""
from __future__ import annotations

import pytest
import trio
import trio.testing

from actors import (
    Ack, ActorCrashed, AskTimeout, Overloaded, Rejected, RuntimeConfig, TrioClock, UnknownKind,
    InvalidAddress, open_runtime,
)
from snapshots import Store

from ..kinds import Add, Boom, Forward, LedgerKind, SubLedgerKind

KINDS = [LedgerKind(), SubLedgerKind()]


def config(**overrides) -> RuntimeConfig:
    return RuntimeConfig(lag_interval=None, **overrides)


async def test_ask_acks_with_sequence_and_state_follows(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        assert await rt.ask("ledger/a", Add(amount=2)) == Ack(seq=1, events=1)
        assert await rt.ask("ledger/a", Add(amount=3)) == Ack(seq=2, events=1)
        assert rt.cells["ledger/a"].state.total == 5


async def test_rejection_changes_nothing(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=2))
        with pytest.raises(Rejected) as info:
            await rt.ask("ledger/a", Add(amount=0))
        assert info.value.code == "ledger/zero"
        assert rt.cells["ledger/a"].seq == 1
        assert store.last_seq("ledger/a") == 1


async def test_bad_addresses_and_kinds_are_refused(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        with pytest.raises(InvalidAddress):
            await rt.tell("no-slash", Add(amount=1))
        with pytest.raises(UnknownKind):
            await rt.tell("dragon/1", Add(amount=1))


async def test_state_survives_a_restart_of_the_runtime(tmp_path, autojump_clock):
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(snapshot_every=3)) as rt:
        for n in range(1, 8):
            await rt.ask("ledger/a", Add(amount=n))
    store.close()
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(snapshot_every=3)) as rt:
        assert await rt.ask("ledger/a", Add(amount=100)) == Ack(seq=8, events=1)
        assert rt.cells["ledger/a"].state.total == 128
        assert rt.cells["ledger/a"].state.history == (1, 2, 3, 4, 5, 6, 7, 100)
    store.close()


async def test_a_state_that_cannot_be_snapshotted_never_stops_the_actor(tmp_path, autojump_clock):
    """Events fit 64 bits, their sum does not: snapshots are skipped, the journal still holds all."""
    big = 2**63 - 1
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(snapshot_every=2)) as rt:
        for n in range(1, 6):
            assert await rt.ask("ledger/a", Add(amount=big)) == Ack(seq=n, events=1)
        assert rt.cells["ledger/a"].metrics.last_error.startswith("snapshot at ")
        assert rt.passivate("ledger/a")
    assert [seq for seq, _ in store.snapshots_raw("ledger/a")] == [2]   # 2 * big still fits orjson's u64
    store.close()
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(snapshot_every=2)) as rt:
        assert await rt.ask("ledger/a", Add(amount=-big)) == Ack(seq=6, events=1)
        assert rt.cells["ledger/a"].state.total == 4 * big
    store.close()


async def test_crash_restarts_with_state_intact_and_others_unaffected(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=5))
        await rt.ask("ledger/b", Add(amount=7))
        assert await rt.ask("ledger/a", Boom(times=1)) == Ack(seq=1, events=0)  # crashed once, retried
        cell = rt.cells["ledger/a"]
        assert cell.metrics.restarts == 1
        assert cell.metrics.last_error == "RuntimeError: boom 1"
        assert cell.state.total == 5
        assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=2, events=1)
        other = rt.cells["ledger/b"]
        assert (other.metrics.restarts, other.state.total) == (0, 7)


async def test_poison_message_is_dead_lettered_and_the_actor_goes_on(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Add(amount=5))
        async with trio.open_nursery() as nursery:
            outcome = {}

            async def poison():
                with pytest.raises(ActorCrashed) as info:
                    await rt.ask("ledger/a", Boom())
                outcome["poison"] = str(info.value)

            nursery.start_soon(poison)
            await trio.testing.wait_all_tasks_blocked()
            await rt.tell("ledger/a", Add(amount=1))   # queued behind the poison
        assert "crashed ledger/a 2 times" in outcome["poison"]
        assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=3, events=1)
        assert rt.cells["ledger/a"].state.total == 7
        [letter] = store.dead_letters()
        assert letter["address"] == "ledger/a"
        assert letter["command"] == "Boom"
        assert letter["error"] == "RuntimeError: boom 2"
        assert letter["attempts"] == 2
        assert letter["request_id"] >= 1
        assert rt.supervisors["ledger"].escalations == 1   # 2 restarts in 5 s > intensity 1


async def test_escalation_reaches_the_parent(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        with pytest.raises(ActorCrashed):
            await rt.ask("sub/p.1", Boom())
        await trio.testing.wait_all_tasks_blocked()
        assert rt.cells["ledger/p"].state.failed_children == ("sub/p.1",)
        tree = rt.tree()
        [ledger_kind] = [k for k in tree["children"] if k["kind"] == "ledger"]
        [parent] = ledger_kind["children"]
        assert [child["address"] for child in parent["children"]] == ["sub/p.1"]


async def test_try_tell_fails_fast_when_the_mailbox_is_full(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(mailbox_capacity=3)) as rt:
        for _ in range(3):
            rt.try_tell("ledger/a", Add(amount=1))   # the actor has not run yet: all three wait
        with pytest.raises(Overloaded) as info:
            rt.try_tell("ledger/a", Add(amount=1))
        assert "ledger/a" in str(info.value)
        await trio.testing.wait_all_tasks_blocked()
        rt.try_tell("ledger/a", Add(amount=1))       # drained: room again
        await trio.testing.wait_all_tasks_blocked()
        assert rt.cells["ledger/a"].state.total == 4


async def test_tell_waits_for_room_and_keeps_each_senders_order(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(mailbox_capacity=2)) as rt:
        async def sender(base: int):
            for n in range(20):
                await rt.tell("ledger/a", Add(amount=base + n))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender, 1000)
            nursery.start_soon(sender, 2000)
        await rt.ask("ledger/a", Add(amount=1))
        history = rt.cells["ledger/a"].state.history
        for base in (1000, 2000):
            assert [h for h in history if base <= h < base + 1000] == list(range(base, base + 20))


async def test_ask_times_out(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(backoff_base=100.0)) as rt:
        with pytest.raises(AskTimeout):
            await rt.ask("ledger/a", Boom(times=1), timeout=1.0)   # restart waits 100 s


async def test_idle_actor_passivates_and_reactivates_transparently(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(idle_passivate=60.0)) as rt:
        await rt.ask("ledger/a", Add(amount=4))
        await trio.sleep(59)
        assert "ledger/a" in rt.cells
        await trio.sleep(7)   # the reaper looks every tenth of the idle time
        assert "ledger/a" not in rt.cells
        assert next(store.snapshots_raw("ledger/a"))[0] == 1      # snapshotted on the way out
        assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=2, events=1)
        assert rt.cells["ledger/a"].state.total == 5
        assert rt.activations == 2


async def test_active_cap_evicts_least_recently_used(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(max_active=3)) as rt:
        for name in "abc":
            await rt.ask(f"ledger/{name}", Add(amount=1))
        await rt.ask("ledger/a", Add(amount=1))            # a is now the most recent
        await rt.ask("ledger/d", Add(amount=1))
        await trio.testing.wait_all_tasks_blocked()
        assert set(rt.cells) == {"ledger/a", "ledger/c", "ledger/d"}
        assert await rt.ask("ledger/b", Add(amount=1)) == Ack(seq=2, events=1)


async def test_tells_in_a_decision_go_out_after_the_write(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Forward(to="ledger/b", amount=3))
        await rt.ask("ledger/b", Add(amount=1))
        assert rt.cells["ledger/a"].state.total == -3
        assert rt.cells["ledger/b"].state.history == (3, 1)


async def test_shutdown_drains_mailboxes(tmp_path, autojump_clock):
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        for _ in range(50):
            rt.try_tell("ledger/a", Add(amount=1))
    assert store.last_seq("ledger/a") == 50
    store.close()


async def test_a_failed_tell_after_the_write_is_dead_lettered_not_replayed(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        await rt.ask("ledger/a", Forward(to="dragon/1", amount=3))   # no such kind
        assert await rt.ask("ledger/a", Add(amount=1)) == Ack(seq=2, events=1)
        assert rt.cells["ledger/a"].state.history == (-3, 1)        # decided once, not retried
        [letter] = store.dead_letters()
        assert letter["command"] == "Add" and "dragon/1" in letter["reason"]


async def test_ask_without_waiting_for_room_fails_fast_at_the_edge(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(mailbox_capacity=1)) as rt:
        rt.try_tell("ledger/a", Add(amount=1))
        with pytest.raises(Overloaded):
            await rt.ask("ledger/a", Add(amount=1), wait_for_room=False)
        await trio.testing.wait_all_tasks_blocked()
        assert await rt.ask("ledger/a", Add(amount=1), wait_for_room=False) == Ack(seq=2, events=1)


async def test_an_unreadable_journal_is_contained_and_visible(store, autojump_clock):
    from snapshots import Batch

    batch = Batch()
    store.append_event(batch, "ledger/broken", 1, {"t": "FromTheFuture", "v": 1, "d": {}})
    store.write([batch])
    cfg = config(kind_intensity=2, kind_period=3600.0)
    async with open_runtime(store, KINDS, clock=TrioClock(), config=cfg) as rt:
        with pytest.raises(AskTimeout):
            await rt.ask("ledger/broken", Add(amount=1), timeout=120)
        assert await rt.ask("ledger/fine", Add(amount=1)) == Ack(seq=1, events=1)
        node = rt.describe(rt.cells["ledger/broken"])
        assert node["status"] == "restarting"
        assert "unknown event type 'FromTheFuture'" in node["last_error"]
        assert rt.supervisors["ledger"].escalations >= 3
        assert rt.supervisors["ledger"].degraded
        assert store.last_seq("ledger/broken") == 1   # nothing written over the evidence


async def test_stopping_a_crash_looping_actor_dead_letters_its_queued_tells(store, autojump_clock):
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(backoff_base=100.0)) as rt:
        rt.try_tell("ledger/a", Boom(times=10))       # crashes, then waits 100 s to restart
        await trio.testing.wait_all_tasks_blocked()
        rt.try_tell("ledger/a", Add(amount=1))
        rt.try_tell("ledger/a", Add(amount=2))
        assert rt.cells["ledger/a"].status == "restarting"
        rt.passivate("ledger/a")
        await trio.testing.wait_all_tasks_blocked()
        assert "ledger/a" not in rt.cells
    letters = store.dead_letters()
    assert [(l["command"], l["data"]) for l in letters] == [("Boom", {"times": 10}), ("Add", {"amount": 1}), ("Add", {"amount": 2})]
    assert all(l["reason"] == "the actor was stopped while restarting" for l in letters)


async def test_a_retried_command_with_the_same_key_is_applied_once(tmp_path, autojump_clock):
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        first = await rt.ask("ledger/a", Add(amount=5), idempotency_key="cmd-1")
        assert await rt.ask("ledger/a", Add(amount=5), idempotency_key="cmd-1") == first
        assert await rt.ask("ledger/a", Add(amount=5), idempotency_key="cmd-2") == Ack(seq=2, events=1)
    store.close()
    store = Store.open(tmp_path / "d")                       # the record is durable
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config()) as rt:
        assert await rt.ask("ledger/a", Add(amount=5), idempotency_key="cmd-1") == first
        assert rt.state_of("ledger/a")[0].history == (5, 5)
    store.close()


async def test_command_ids_are_forgotten_after_the_retention(store, autojump_clock):
    cfg = config(idempotency_retention=3600, idempotency_sweep=600)
    async with open_runtime(store, KINDS, clock=TrioClock(), config=cfg) as rt:
        old = await rt.ask("ledger/a", Add(amount=1), idempotency_key="old")
        await trio.sleep(3000)
        recent = await rt.ask("ledger/a", Add(amount=2), idempotency_key="recent")
        await trio.sleep(1300)                               # swept at 4,200 s: "old" was over 3,600 s old
        assert store.get_idempotent("ledger/a", "old") is None
        assert await rt.ask("ledger/a", Add(amount=2), idempotency_key="recent") == recent   # still known
        assert await rt.ask("ledger/a", Add(amount=1), idempotency_key="old") != old          # applied anew
        assert rt.state_of("ledger/a")[0].history == (1, 2, 1)
        assert await rt.prune_idempotency_once() == 0
        await trio.sleep(7200)
        assert store.get_idempotent("ledger/a", "recent") is None
        assert store.get_idempotent("ledger/a", "old") is None   # and its second record too


async def test_decide_learns_who_sent_the_command(store, autojump_clock):
    from actors import Context

    seen: list[Context] = []

    class Witness(LedgerKind):
        kind = "witness"

        def decide(self, state, command, ctx):
            seen.append(ctx)
            return super().decide(state, command, ctx)

    async with open_runtime(store, [Witness()], clock=TrioClock(), config=config()) as rt:
        await rt.ask("witness/a", Add(amount=1), by={"role": "player", "subject": "ana"})
        await rt.tell("witness/a", Add(amount=1))
        await trio.testing.wait_all_tasks_blocked()
    assert [ctx.by for ctx in seen] == [{"role": "player", "subject": "ana"}, None]


async def test_busy_sees_every_actor_with_work_however_long_it_was_quiet(store, autojump_clock):
    # ``busy`` only looks at actors reached since it last found all idle: one that was quiet
    # then gets a message (the oldest, or one passivated and woken) must still count.
    async with open_runtime(store, KINDS, clock=TrioClock(), config=config(max_active=3)) as rt:
        for name in "abc":
            await rt.ask(f"ledger/{name}", Add(amount=1))
        assert not rt.busy()
        for name in "abcd":  # the oldest first, then one beyond max_active (a has left memory)
            reply = rt.submit(f"ledger/{name}", Add(amount=1))
            assert rt.busy()
            while rt.busy():
                await trio.sleep(0)
            assert (await reply.wait()).events == 1
        assert not rt.busy()
        assert [rt.state_of(f"ledger/{name}")[0].total for name in "abcd"] == [2, 2, 2, 1]

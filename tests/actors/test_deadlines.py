"""Ask timeouts on the pipelined path (``Runtime.answer``): one task fails what ran out of time."""
from __future__ import annotations

import pytest
import trio

from actors import AskTimeout
from actors.runtime.cell import Reply
from actors.runtime.deadlines import ReplyDeadlines


async def test_each_reply_fails_at_its_own_deadline_and_an_answered_one_never(autojump_clock):
    deadlines, failed_at = ReplyDeadlines(), {}

    async def answer(reply: Reply, name: str, after: float) -> None:
        await trio.sleep(after)
        reply.set(name)

    async def waiting(name: str, seconds: float, answer_after: float | None = None, begin: float = 0.0) -> None:
        await trio.sleep(begin)
        reply, start = Reply(), trio.current_time()
        deadlines.watch(reply, start + seconds, lambda: AskTimeout(f"{name} within {seconds} s"))
        if answer_after is not None:
            nursery.start_soon(answer, reply, name, answer_after)
        try:
            assert await reply.wait() == name
        except AskTimeout as exc:
            assert str(exc) == f"{name} within {seconds} s"
            failed_at[name] = trio.current_time() - start

    async with trio.open_nursery() as nursery:
        await nursery.start(deadlines.run)
        async with trio.open_nursery() as waiters:
            waiters.start_soon(waiting, "slow", 30.0)
            waiters.start_soon(waiting, "slower", 50.0)
            waiters.start_soon(waiting, "sooner", 5.0, None, 10.0)  # at 10 s, while the task sleeps until 30 s
            waiters.start_soon(waiting, "answered", 1.0, 0.5)     # in time: never failed
            waiters.start_soon(waiting, "late", 2.0, 3.0)         # failed at 2 s; the answer at 3 s changes nothing
        assert failed_at == {"sooner": pytest.approx(5.0), "slow": pytest.approx(30.0),
                             "slower": pytest.approx(50.0), "late": pytest.approx(2.0)}
        assert len(deadlines) == 0
        nursery.cancel_scope.cancel()


async def test_an_unanswered_submit_times_out_through_the_runtime(store, autojump_clock):
    from actors import RuntimeConfig, TrioClock, open_runtime

    from ..kinds import Boom, LedgerKind

    async with open_runtime(store, [LedgerKind()], clock=TrioClock(),
                            config=RuntimeConfig(lag_interval=None, backoff_base=100.0)) as rt:
        start = trio.current_time()
        with pytest.raises(AskTimeout, match="ledger/a did not answer Boom within 3.0 s"):
            await rt.answer(rt.submit("ledger/a", Boom(times=1)), "ledger/a", Boom(times=1), 3.0)  # restart waits 100 s
        assert trio.current_time() - start == pytest.approx(3.0)


async def test_answered_replies_are_let_go_soon_not_at_their_deadline(autojump_clock):
    deadlines = ReplyDeadlines()
    async with trio.open_nursery() as nursery:
        await nursery.start(deadlines.run)
        for _ in range(100):
            reply = Reply()
            deadlines.watch(reply, trio.current_time() + 10.0, lambda: AskTimeout("late"))
            reply.set("done")
        waiting = Reply()
        deadlines.watch(waiting, trio.current_time() + 10.0, lambda: AskTimeout("late"))
        await trio.sleep(1.0)
        assert len(deadlines) == 1  # only the one still waiting
        nursery.cancel_scope.cancel()


async def test_on_answer_calls_back_once_answered_failed_or_out_of_time(store, autojump_clock):
    from actors import Ack, Rejected, RuntimeConfig, TrioClock, open_runtime

    from ..kinds import Add, Boom, LedgerKind

    async with open_runtime(store, [LedgerKind()], clock=TrioClock(),
                            config=RuntimeConfig(lag_interval=None, backoff_base=100.0)) as rt:
        seen: dict[str, tuple[float, object]] = {}
        start = trio.current_time()

        def then(name):
            return lambda reply: seen.setdefault(name, (trio.current_time() - start, reply.error or reply.value))

        for name, command, timeout in (("acked", Add(amount=2), 5.0), ("rejected", Add(amount=0), 5.0),
                                       ("late", Boom(times=1), 3.0)):  # the restart waits 100 s
            rt.on_answer(rt.submit(f"ledger/{name}", command), f"ledger/{name}", command, then(name), timeout)
        await trio.sleep(10)
        assert seen["acked"] == (0.0, Ack(seq=1, events=1))
        assert isinstance(seen["rejected"][1], Rejected) and seen["rejected"][0] == 0.0
        assert isinstance(seen["late"][1], AskTimeout) and seen["late"][0] == pytest.approx(3.0)

        done = rt.submit("ledger/acked", Add(amount=1))
        while not done.done:
            await trio.sleep(0)
        rt.on_answer(done, "ledger/acked", Add(amount=1), then("already"))  # answered before: called at once
        assert seen["already"][1] == Ack(seq=2, events=1)

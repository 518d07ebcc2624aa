"""The narrator in campaigns: the real model on a few short prompts, its fallbacks, its health window.

Waits on events, never on sleeps: tests where the model generates run on trio's own clock
(a worker process and an autojumping MockClock do not mix: the clock would jump past its
load); the others on MockClock, with a narrator whose workers are all busy.
"""
from __future__ import annotations

import contextlib

import pytest
import trio

from actors import Published, Rejected, RuntimeConfig, TrioClock, Transient, open_runtime
from actors.campaign.messages import NarrateNpc, Posted, PostNarrated, SetDeadline, UpdateSettings
from actors.campaign.state import Settings
from actors.kinds import game_kinds
from actors.narration.health import Health
from actors.narration.model import default_model_path
from actors.narration.service import Narrator

from ..campaigns import GM, posts, started

ADDRESS = "campaign/c1"


def narrator(**kwargs) -> Narrator:
    return Narrator({"smollm2": default_model_path()}, **kwargs)


@contextlib.asynccontextmanager
async def runtime_with(store, narrator: Narrator | None, clock=None, serving: bool = True):
    """A runtime whose campaigns have ``narrator`` (its workers running, unless ``serving`` is off)."""
    config = RuntimeConfig(lag_interval=0.05)
    async with contextlib.AsyncExitStack() as stack:
        if narrator is not None and serving:
            await stack.enter_async_context(narrator.serving())
        rt = await stack.enter_async_context(open_runtime(store, game_kinds(narrator=narrator),
                                                          clock=clock or TrioClock(), config=config))
        if narrator is not None:
            narrator.attach(rt.publish_transient)
        yield rt


@contextlib.contextmanager
def every_worker_busy(voice: Narrator):
    """The narrator runs, but no worker process ever comes free (none was started: on MockClock)."""
    voice.pool.running = True
    try:
        yield
    finally:
        voice.pool.running = False


def journal(rt) -> list:
    behavior = rt.behavior_of(ADDRESS)
    return [behavior.load_event(stored) for _, stored in rt.store.read_journal(ADDRESS)]


async def settled(rt, n: int | None = None, command=None, frames: list | None = None) -> PostNarrated:
    """Follow the campaign (after sending ``command``, if given) until post ``n`` (default: the
    first pending one) is settled; keep the narration frames seen on the way."""
    async with rt.subscribe(ADDRESS) as items:
        snapshot = await items.__anext__()  # attached: nothing from here on is missed
        if command is not None:
            await rt.ask(ADDRESS, command, by=GM)
        if n is None:
            n = min(rt.state_of(ADDRESS)[0].narrations)
        elif n not in snapshot.state.narrations:  # settled before we looked: it is in the journal
            return next(e for e in journal(rt) if isinstance(e, PostNarrated) and e.n == n)
        async for item in items:
            if isinstance(item, Transient) and frames is not None:
                frames.append(item)
            if isinstance(item, Published) and isinstance(item.event, PostNarrated) and item.event.n == n:
                return item.event
    raise AssertionError("the stream ended")


async def test_the_model_voices_an_npc_and_streams_its_tokens(store):
    voice = narrator()
    async with runtime_with(store, voice) as rt:
        await started(rt)
        frames: list[Transient] = []
        with trio.fail_after(120):
            event = await settled(rt, command=NarrateNpc(npc="Old Bren", hint="the bridge is out; take the ford"),
                                  frames=frames)
        post = next(e.post for e in journal(rt) if isinstance(e, Posted) and e.post.reason == "npc")
        assert post.pending and post.text == "Old Bren: the bridge is out; take the ford"  # journaled at once
        meta = event.meta
        assert meta.purpose == "npc_voice" and meta.prompt_tokens > 20 and meta.completion_tokens > 0
        assert meta.latency_ms > 0
        final = posts(rt, "npc")[0]
        assert not final.pending and final.text == event.text
        deltas = "".join(f.data["delta"] for f in frames if f.data["post"] == post.n)
        assert frames and deltas.strip()  # the tokens came live, as they were made
        if meta.outcome == "narrated":
            assert meta.model == "smollm2" and event.text != post.text and meta.error is None
        else:  # the small model wrote something the checks refused: the template serves, saying why
            assert meta.outcome == "rejected" and meta.model == "template" and meta.draft
            assert event.text == post.text and meta.error.startswith("rejected: ")
        assert voice.figures.outcomes[meta.outcome] == 1


async def test_a_narrator_with_no_free_slot_times_out_to_the_template_and_pauses(store, autojump_clock):
    voice = narrator(slots=1, health=Health(base_s=60))
    async with runtime_with(store, voice, clock=TrioClock(), serving=False) as rt:
        await started(rt)
        await rt.ask(ADDRESS, UpdateSettings(settings=Settings(narrator_deadline_s=5)), by=GM)
        await rt.ask(ADDRESS, SetDeadline(deadline_id="flood", in_hours=1, consequence="The river floods."), by=GM)
        with every_worker_busy(voice):  # the request waits, then its deadline passes
            async with rt.subscribe(ADDRESS) as items:
                await items.__anext__()
                await trio.sleep(3601)  # the deadline's consequence: a pending post
                n = posts(rt, "deadline")[0].n
                event = await settled(rt, n)
        assert event.text == "The river floods." and event.meta.outcome == "timeout"
        assert event.meta.model == "template" and "within 5 s" in event.meta.error
        assert voice.health.paused(trio.current_time())  # a failure opens the window...

        with every_worker_busy(voice):  # ...and while it is open, templates
            event = await settled(rt, command=NarrateNpc(npc="Bren", hint="run"))
        assert (event.text, event.meta.outcome) == ("Bren: run", "paused")
        assert voice.status()["health"]["state"] == "paused"
        voice.resume()
        assert voice.status()["health"]["state"] == "ready"


async def test_a_restart_while_narrating_settles_the_post_with_the_template(tmp_path, autojump_clock):
    from snapshots import Store

    voice = narrator(slots=1)
    store = Store.open(tmp_path / "data")
    try:
        with every_worker_busy(voice):  # the narrator never gets to it before the server stops
            async with runtime_with(store, voice, serving=False) as rt:
                await started(rt)
                await rt.ask(ADDRESS, NarrateNpc(npc="Bren", hint="the gate holds"), by=GM)
                n = min(rt.state_of(ADDRESS)[0].narrations)
    finally:
        store.close()
    store = Store.open(tmp_path / "data")
    try:
        async with runtime_with(store, None) as rt:  # back without a narrator at all: the timer still fires
            event = await settled(rt, n)
            assert (event.text, event.meta.outcome, event.meta.model) == ("Bren: the gate holds", "timeout", "template")
            assert not rt.state_of(ADDRESS)[0].narrations and not posts(rt, "npc")[0].pending
    finally:
        store.close()


async def test_without_the_narrator_switch_the_templates_are_posted_at_once(store, autojump_clock):
    async with runtime_with(store, narrator(), serving=False) as rt:
        await started(rt, settings=Settings(narrator=False))
        await rt.ask(ADDRESS, NarrateNpc(npc="Bren", hint="hello"), by=GM)
        post = posts(rt, "npc")[0]
        assert not post.pending and post.text == "Bren: hello" and post.meta.model == "template"
        assert not rt.state_of(ADDRESS)[0].narrations


async def test_a_campaign_may_only_pick_a_model_the_server_offers(store, autojump_clock):
    async with runtime_with(store, narrator(), serving=False) as rt:
        await started(rt)
        with pytest.raises(Rejected) as info:
            await rt.ask(ADDRESS, UpdateSettings(settings=Settings(narrator_model="gpt-9")), by=GM)
        assert info.value.code == "campaign/unknown_narrator_model" and "smollm2" in info.value.message
        await rt.ask(ADDRESS, UpdateSettings(settings=Settings(narrator_model="smollm2")), by=GM)
        assert rt.state_of(ADDRESS)[0].settings.narrator_model == "smollm2"


def test_the_pause_window_grows_exponentially_to_its_cap_and_a_success_closes_it():
    health = Health(base_s=10, cap_s=50)
    windows = []
    for now in (0.0, 100.0, 200.0, 300.0, 400.0):
        health.record("timeout", now)
        windows.append(health.paused_until - now)
    assert windows == [10, 20, 40, 50, 50]
    assert health.paused(400.0 + 49.9) and not health.paused(400.0 + 50)
    health.record("rejected", 500.0)  # the model's style, not its health
    assert health.failures == 5
    health.record("narrated", 501.0)
    assert (health.failures, health.paused_until) == (0, None) and health.window_s() == 10
    health.pause(600.0, 30)
    assert health.as_dict(610.0)["paused_by"] == "operator" and health.as_dict(610.0)["paused_for_s"] == 20


async def test_the_loop_stays_responsive_while_the_model_generates(store):
    from server.bench.narrator import LagProbe

    voice = narrator(slots=1, threads=2)
    async with runtime_with(store, voice) as rt:
        await started(rt, settings=Settings(narrator_max_tokens=96, narrator_deadline_s=120))
        probe = LagProbe()
        scope = trio.CancelScope()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(probe.run, scope)
            with trio.fail_after(120):
                event = await settled(rt, command=NarrateNpc(npc="Old Bren", hint="tell them about the flood"))
            scope.cancel()
    generating_s = event.meta.latency_ms / 1000
    # On the loop, generation would delay a tick by all of it; in a worker process, by next to nothing.
    assert event.meta.completion_tokens > 10 and len(probe.samples) > 20
    assert probe.worst < min(0.5, generating_s / 2), (probe.worst, generating_s)


async def test_a_dry_run_posts_the_template_and_keeps_what_the_model_would_have_posted(store, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="everturn.narrator")
    voice = narrator()
    async with runtime_with(store, voice) as rt:
        await started(rt, settings=Settings(narrator_dry_run=True, narrator_deadline_s=120))
        frames: list[Transient] = []
        with trio.fail_after(120):
            event = await settled(rt, command=NarrateNpc(npc="Old Bren", hint="the bridge is out"), frames=frames)
    meta = event.meta
    assert event.text == "Old Bren: the bridge is out" and meta.model == "template"
    assert not frames  # nothing of it reached the table
    if meta.outcome == "dry_run":
        assert meta.draft and meta.completion_tokens > 0 and meta.error is None
        assert any("would read" in r.getMessage() and meta.draft in r.getMessage() for r in caplog.records)
    else:  # refused by the checks: still not posted, the draft kept all the same
        assert meta.outcome == "rejected" and meta.draft


def test_a_campaigns_own_prompt_and_recent_posts_make_the_request():
    from actors.campaign import narration
    from actors.campaign.state import Campaign, Post
    from actors.narration.prompts import PromptTemplate, Prompts

    custom = PromptTemplate(system="You are the bard of {title}.", user="Recent:\n{recent}\nSing of {names}: {event}")
    state = Campaign(created=True, title="The Sunken Crown", settings=Settings(
        prompts=Prompts(auto_skip=custom), narrator_model="smollm2", narrator_max_tokens=40))
    state = state.model_copy(update={"posts": tuple(
        Post(n=i, kind="narration", author="gm1", text=f"beat {i}", at=float(i)) for i in range(1, 12)),
        "post_count": 11})
    post = Post(n=12, kind="narration", author="server", text="Aria hesitates.", at=12.0, reason="auto_skip")
    request = narration.request(state, post, "campaign/c1")
    assert request.purpose == "auto_skip" and request.fallback == "Aria hesitates." and request.n == 12
    assert request.messages[0] == ("system", "You are the bard of The Sunken Crown.")
    user = request.messages[1][1]
    assert user.startswith("Recent:\nGM: beat 4\n") and "GM: beat 11\nSing of the party: Aria hesitates." in user
    assert "beat 3" not in user  # the last eight posts
    assert (request.model, request.max_tokens, request.deadline_s) == ("smollm2", 40, 20.0)
    assert request == narration.request(state, post, "campaign/c1")  # pure: the same request every time
    assert request.seed != narration.request(state, post, "campaign/c2").seed


async def test_a_refused_text_is_written_once_more_and_the_table_told_to_drop_what_it_saw():
    from actors.narration.request import NarrationRequest

    voice = narrator()
    seen: list[tuple[str, Transient]] = []
    voice.attach(lambda address, item: seen.append((address, item)) or 1)
    request = NarrationRequest(  # a name the model will not write: both attempts are refused
        address="campaign/c1", n=7, purpose="auto_skip", fallback="Zyxqor hesitates.", names=("Zyxqor",),
        messages=(("system", "You narrate a fantasy game in one sentence."), ("user", "A goblin waits. Narrate.")),
        max_tokens=24, deadline_s=120)
    async with voice.serving():
        with trio.fail_after(120):
            result = await voice.narrate(request)
    assert (result.outcome, result.text, result.error) == ("rejected", "Zyxqor hesitates.", "rejected: missing_name")
    restarts = [item for _, item in seen if item.data.get("restart")]
    assert len(restarts) == 1 and restarts[0].data == {"post": 7, "restart": True, "reason": "missing_name"}
    before = [item for _, item in seen[:seen.index(("campaign/c1", restarts[0]))]]
    assert before and all(item.data["post"] == 7 and "delta" in item.data for item in before)
    deltas = [item for _, item in seen if "delta" in item.data]
    assert len(deltas) > len(before)  # the second attempt streamed too
    assert result.completion_tokens >= len(deltas) > 24  # and both attempts' tokens are on the record
    assert voice.figures.outcomes == {"rejected": 1} and voice.health.failures == 0

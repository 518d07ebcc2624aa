// The bridge's promises: commands one at a time, each acked whatever becomes of it, done once
// however often delivered; events answered once, kept across drops, sent by the emitter only and
// not lost when the emitter changes.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Bridge, DoneCommands } from "../../server/bridge/foundry/scripts/bridge.js";
import { TransportError } from "../../server/bridge/foundry/scripts/transport.js";
import { FakeClock } from "./fake-clock.mjs";
import { FakeEverturn } from "./fake-everturn.mjs";
import { browser, player, settle, table } from "./table.mjs";

const acksOf = (everturn) => everturn.acks.map(({ id, ok, reason }) => (ok ? { id, ok } : { id, ok, reason }));

/** A bridge alone, carrying commands out with `carryOut`, against an in-memory Everturn. */
function bareBridge(carryOut) {
  const everturn = new FakeEverturn();
  const clock = new FakeClock();
  const transport = everturn.transport("gm-one");
  const done = new DoneCommands();
  const bridge = new Bridge({ transport, carryOut, done, clock, log: { warn() {}, error() {}, info() {} } });
  bridge.start();
  return { everturn, clock, bridge, transport };
}

test("commands are carried out one at a time, in the order given", async () => {
  const log = [];
  const { everturn } = bareBridge(async (command) => {
    log.push(`start ${command.id}`);
    await settle(1);
    log.push(`end ${command.id}`);
  });
  everturn.queue("create_chat_message", {}, "a");
  everturn.queue("create_chat_message", {}, "b");
  everturn.queue("create_chat_message", {}, "c");
  await settle(10);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.deepEqual(acksOf(everturn), [{ id: "a", ok: true }, { id: "b", ok: true }, { id: "c", ok: true }]);
});

test("a failing command is acked with its reason and the next one is still carried out", async () => {
  const setup = table();
  await browser(setup, "Gamemaster");
  const everturn = setup.everturn;
  everturn.queue("apply_damage", { target: "nobody", amount: 3 }, "bad");
  everturn.queue("apply_damage", { target: "ayla", amount: 3 }, "good");
  await settle();
  assert.deepEqual(acksOf(everturn), [
    { id: "bad", ok: false, reason: 'no combatant, player or actor "nobody" in this world' },
    { id: "good", ok: true },
  ]);
  assert.equal(setup.world.sources.Actor.get(setup.actors["Ayla the Bold"]).system.attributes.hp.value, 17);
});

test("a command that hangs is given up after 10 s, acked failed, and the next one goes", async () => {
  const carried = [];
  const { everturn, clock } = bareBridge((command) => {
    carried.push(command.id);
    return command.id === "stuck" ? new Promise(() => {}) : Promise.resolve();
  });
  everturn.queue("show_journal", {}, "stuck");
  everturn.queue("create_chat_message", {}, "next");
  await clock.advance(9_999);
  assert.deepEqual(everturn.acks, []);
  await clock.advance(1);
  assert.deepEqual(acksOf(everturn), [
    { id: "stuck", ok: false, reason: "Foundry did not finish show_journal within 10 s (it may still happen there)" },
    { id: "next", ok: true },
  ]);
  everturn.redeliver("stuck"); // its ack was lost: the same answer, not a second try
  await settle();
  assert.deepEqual(carried, ["stuck", "next"]);
  assert.equal(everturn.acks.at(-1).reason, everturn.acks[0].reason);
});

test("a command delivered twice is done once and acked twice", async () => {
  const setup = table();
  const gm = await browser(setup, "Gamemaster");
  const id = setup.everturn.queue("create_chat_message", { content: "Once." });
  await settle();
  setup.everturn.redeliver(id);
  await settle();
  assert.equal(gm.game.messages.size, 1);
  assert.deepEqual(acksOf(setup.everturn), [{ id, ok: true }, { id, ok: true }]);
  assert.deepEqual(setup.world.settings.get("everturn-bridge.doneCommands"), [id]);
});

test("the GM's browser that takes over knows the commands the first one did", async () => {
  const setup = table({ gms: ["Gamemaster", "Assistant"] });
  const first = await browser(setup, "Gamemaster");
  const second = await browser(setup, "Assistant");
  const id = setup.everturn.queue("apply_damage", { target: "ayla", amount: 5 });
  await settle();
  // The first browser goes; as if its ack had been lost, Everturn gives the command to the next emitter.
  first.transport.drop();
  setup.everturn.commands[0].status = "queued";
  setup.everturn.redeliver(id);
  await settle();
  assert.equal(second.game.actors.getName("Ayla the Bold").system.attributes.hp.value, 15);
  assert.deepEqual(setup.everturn.acks.map((a) => [a.by, a.id, a.ok]), [["gm-gamemaster", id, true], ["gm-assistant", id, true]]);
});

test("the done-set keeps the last 1000 ids", async () => {
  let stored = [];
  const done = new DoneCommands({ load: () => stored, save: async (ids) => { stored = ids; } });
  for (let i = 0; i < 1005; i++) await done.add(`c${i}`);
  assert.equal(stored.length, 1000);
  assert.equal(stored[0], "c5");
  assert.ok(done.has("c1004") && !done.has("c4"));
});

test("only the emitter sends events: two GMs' browsers, one emission", async () => {
  const setup = table({ gms: ["Gamemaster", "Assistant"] });
  await browser(setup, "Gamemaster");
  await browser(setup, "Assistant");
  await player(setup, "Ayla").ChatMessage.create({ content: "Hello" });
  await settle();
  assert.deepEqual(setup.everturn.emits.map(({ by, emitter }) => [by, emitter]), [["gm-gamemaster", true]]);
  assert.equal(setup.everturn.log.length, 1);
});

test("failover: the event the dying emitter never sent is sent by the next one", async () => {
  const setup = table({ gms: ["Gamemaster", "Assistant"] });
  const first = await browser(setup, "Gamemaster");
  const second = await browser(setup, "Assistant");
  first.transport.up = false; // its connection is dead, though nobody knows yet
  const message = await player(setup, "Ayla").ChatMessage.create({ content: "Did anyone hear that?" });
  await settle();
  assert.deepEqual(setup.everturn.log, []);
  assert.equal(second.bridge.status().held, 1);
  await setup.clock.advance(12_000); // the lease lapses: Everturn elects the other browser
  first.transport.drop();
  await settle();
  assert.deepEqual(setup.everturn.appliedIds, [`chat.${message.id}`]);
  assert.equal(setup.everturn.applied.get(`chat.${message.id}`).by, "gm-assistant");
  assert.equal(second.bridge.status().outbox, 0);
});

test("a standby browser forgets what it held after 30 s", async () => {
  const setup = table({ gms: ["Gamemaster", "Assistant"] });
  await browser(setup, "Gamemaster");
  const second = await browser(setup, "Assistant");
  await player(setup, "Ayla").ChatMessage.create({ content: "old news" });
  await settle();
  assert.equal(second.bridge.status().held, 1);
  await setup.clock.advance(30_000);
  assert.equal(second.bridge.status().held, 0);
});

test("an emitter told it is not one any more keeps its events as held", async () => {
  const { bridge, everturn, transport } = bareBridge(async () => {});
  const other = everturn.transport("gm-two");
  other.start({ connected() {}, emitter() {}, commands() {}, fatal() {} });
  everturn.emitter = other; // the lease moved while this one was busy
  bridge.record([{ id: "chat.x", type: "chat", data: { content: "x" } }]);
  await settle();
  assert.deepEqual(everturn.emits.map((e) => [e.by, e.emitter]), [["gm-one", false]]);
  assert.equal(bridge.status().held, 1);
  assert.equal(bridge.status().emitter, false);
  everturn.detach(other);
  await settle();
  assert.deepEqual(everturn.appliedIds, ["chat.x"]);
  assert.equal(everturn.applied.get("chat.x").by, transport.instance);
});

test("a reconnect sends the unanswered events again with the same ids; Everturn applies them once", async () => {
  const setup = table();
  const gm = await browser(setup, "Gamemaster");
  gm.transport.loseNextAnswer = true; // applied, but the answer is lost with the connection
  const ayla = player(setup, "Ayla");
  const first = await ayla.ChatMessage.create({ content: "one" });
  await settle();
  const second = await ayla.ChatMessage.create({ content: "two (while down)" });
  await settle();
  assert.equal(gm.bridge.status().outbox, 2);
  gm.transport.reconnect();
  await settle();
  const sent = setup.everturn.emits.flatMap((e) => e.ids);
  assert.deepEqual(sent, [`chat.${first.id}`, `chat.${first.id}`, `chat.${second.id}`]);
  assert.deepEqual(setup.everturn.appliedIds, [`chat.${first.id}`, `chat.${second.id}`]);
  assert.equal(gm.bridge.status().outbox, 0);
});

test("acks that could not be sent go once connected again", async () => {
  const { everturn, transport, bridge } = bareBridge(async () => {});
  transport.drop();
  bridge.onCommands([{ id: "c7", kind: "create_chat_message", data: {} }]);
  await settle();
  assert.deepEqual(everturn.acks, []);
  transport.reconnect();
  await settle();
  assert.deepEqual(acksOf(everturn), [{ id: "c7", ok: true }]);
  assert.ok(bridge.isIdle());
});

test("events Everturn can never take are dropped and said, not retried forever; refused ones are said", async () => {
  const { bridge, transport, everturn } = bareBridge(async () => {});
  const said = [];
  bridge.log = { warn: (text) => said.push(text), error: (text) => said.push(text) };
  const emit = transport.emit.bind(transport);
  let calls = 0;
  transport.emit = async (events) => {
    calls += 1;
    if (calls === 1) {
      throw new TransportError("Everturn rejected a request of the bridge (command/invalid: events.0.id)", { kind: "rejected" });
    }
    const answer = await emit(events);
    return { ...answer, items: answer.items.map((item) => ({ ...item, status: "refused", code: "campaign/not_a_player", message: "who?" })) };
  };
  bridge.record([{ id: "bad", type: "chat", data: {} }]);
  await settle();
  bridge.record([{ id: "chat.2", type: "chat", data: { content: "x", player_id: "zed" } }]);
  await settle();
  assert.equal(bridge.status().outbox, 0);
  assert.equal(calls, 2);
  assert.deepEqual(everturn.appliedIds, ["chat.2"]);
  assert.match(said[0], /1 event\(s\) dropped/);
  assert.match(said[1], /refused chat chat\.2 \(campaign\/not_a_player: who\?\)/);
});

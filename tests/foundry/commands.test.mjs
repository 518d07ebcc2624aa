// Each command kind of docs/bridge.md, carried out in the world by the real module and acked; the
// world's changes are the module's own, so none comes back to Everturn as an event.

import assert from "node:assert/strict";
import { test } from "node:test";

import { browser, settle, table } from "./table.mjs";

async function gmTable(options) {
  const setup = table(options);
  const gm = await browser(setup, "Gamemaster");
  return { setup, gm, game: gm.game, everturn: setup.everturn, world: setup.world };
}

/** Everturn queues one command; resolves with its ack once the module sent it. */
async function command(everturn, kind, data) {
  const id = everturn.queue(kind, data);
  await settle();
  return everturn.acks.filter((ack) => ack.id === id).map(({ ok, reason }) => (ok ? { ok } : { ok, reason }))[0];
}

async function runningCombat({ everturn, game }) {
  await command(everturn, "start_combat", { encounter: 1, combatants: [
    { cid: "ayla", name: "Ayla the Bold", player_id: "ayla", initiative: 18 },
    { cid: "gob-1", name: "Goblin", initiative: 12 },
  ] });
  return game.combat;
}

test("create_chat_message: a whisper from Everturn reaches the player's user, escaped, and is not sent back", async () => {
  const { setup, game, everturn } = await gmTable();
  const ack = await command(everturn, "create_chat_message", {
    content: "Keep <b>quiet</b>\nor else", speaker: "Warden", whisper_to: ["ayla", "gm"], post: 41,
  });
  assert.deepEqual(ack, { ok: true });
  const [message] = game.messages.contents;
  assert.equal(message.content, "Keep &lt;b&gt;quiet&lt;/b&gt;<br>or else");
  assert.equal(message.speaker.alias, "Warden");
  assert.deepEqual(new Set(message.whisper), new Set([setup.users.Ayla, setup.users.Gamemaster]));
  assert.deepEqual(message.flags["everturn-bridge"], { command: "c1", post: 41 });
  assert.deepEqual(everturn.log, []);
});

test("create_chat_message: a player's words speak as her character; a whisper to nobody here goes to the GM", async () => {
  const { setup, game, everturn } = await gmTable();
  await command(everturn, "create_chat_message", { content: "I search the altar.", speaker: "Ayla the Bold", player_id: "ayla" });
  await command(everturn, "create_chat_message", { content: "only for Cass", whisper_to: ["cass"] });
  const [said, whispered] = game.messages.contents;
  assert.equal(said.speaker.actor, setup.actors["Ayla the Bold"]);
  assert.deepEqual(said.whisper, []);
  assert.deepEqual(whispered.whisper, [setup.users.Gamemaster]);
  assert.equal(whispered.speaker.alias, "Everturn");
});

test("start_combat: a combat of those actors, started, in Everturn's order; none echoed back", async () => {
  const { setup, game, everturn } = await gmTable();
  const combat = await runningCombat({ everturn, game });
  assert.equal(everturn.commands[0].status, "acked");
  assert.equal(combat.round, 1);
  assert.deepEqual(combat.turns.map((c) => [c.name, c.actorId, c.initiative]), [
    ["Ayla the Bold", setup.actors["Ayla the Bold"], 18],
    ["Goblin", setup.actors.Goblin, 12],
  ]);
  assert.equal(combat.turns[1].tokenId, game.scenes.active.tokens.contents[0].id, "the goblin's token on the scene");
  assert.equal(combat.flags["everturn-bridge"].encounter, 1);
  assert.deepEqual(everturn.log, []);
});

test("start_combat: nothing when a combat already runs, and the first turn is Everturn's", async () => {
  const { game, everturn } = await gmTable();
  await command(everturn, "start_combat", { encounter: 1, round: 1, combatant: "gob-1", combatants: [
    { cid: "ayla", name: "Ayla the Bold", player_id: "ayla", initiative: 18 },
    { cid: "gob-1", name: "Goblin", initiative: 12 },
  ] });
  assert.equal(game.combat.combatant.name, "Goblin");
  const ack = await command(everturn, "start_combat", { encounter: 2, combatants: [{ cid: "x", name: "Ogre" }] });
  assert.deepEqual(ack, { ok: true });
  assert.equal(game.combats.size, 1);
  assert.deepEqual(everturn.log, []);
});

test("advance_turn: moves a combat still at `from`, does nothing where it already is, fails once it moved on", async () => {
  const { game, everturn } = await gmTable();
  const combat = await runningCombat({ everturn, game });
  const move = { round: 1, combatant: "gob-1", from: { round: 1, combatant: "ayla" } };
  assert.deepEqual(await command(everturn, "advance_turn", move), { ok: true });
  assert.equal(combat.combatant.name, "Goblin");
  assert.deepEqual(await command(everturn, "advance_turn", move), { ok: true }); // already there
  assert.equal(combat.turn, 1);
  const stale = await command(everturn, "advance_turn", { round: 2, combatant: "gob-1", from: { round: 1, combatant: "ayla" } });
  assert.deepEqual(stale, { ok: false, reason: "the combat has moved on: Foundry is at round 1, Goblin's turn" });
  assert.deepEqual(await command(everturn, "advance_turn", { round: 2, combatant: "ayla", from: { round: 1, combatant: "gob-1" } }), { ok: true });
  assert.deepEqual([combat.round, combat.combatant.name], [2, "Ayla the Bold"]);
  assert.deepEqual(everturn.log, []);
});

test("end_combat: deletes the combat without the confirmation dialog, and says nothing back", async () => {
  const { game, everturn, gm } = await gmTable();
  await runningCombat({ everturn, game });
  assert.deepEqual(await command(everturn, "end_combat", { encounter: 1 }), { ok: true });
  assert.equal(game.combats.size, 0);
  assert.deepEqual(await command(everturn, "end_combat", {}), { ok: true }); // none runs: nothing to do
  assert.deepEqual(everturn.log, []);
  assert.deepEqual(gm.client.hookErrors, []);
});

test("apply_damage and apply_healing: HP down and up within 0..max, by player, combatant or actor id", async () => {
  const { setup, game, everturn } = await gmTable();
  const combat = await runningCombat({ everturn, game });
  const hp = (name) => game.actors.getName(name).system.attributes.hp.value;
  await command(everturn, "apply_damage", { target: "ayla", amount: 7 });
  assert.equal(hp("Ayla the Bold"), 13);
  await command(everturn, "apply_healing", { target: setup.actors["Ayla the Bold"], amount: 50 });
  assert.equal(hp("Ayla the Bold"), 20);
  await command(everturn, "apply_damage", { target: "gob-1", amount: 9 });
  assert.equal(hp("Goblin"), 0);
  await command(everturn, "apply_healing", { target: combat.turns[1].id, amount: 2 });
  assert.equal(hp("Goblin"), 2);
  assert.deepEqual(everturn.log, [], "in the combat, yet not sent back");
});

test("apply_damage with the HP Everturn has after it sets them: carried out twice, or for a change made here, it changes nothing", async () => {
  const { game, everturn } = await gmTable();
  await runningCombat({ everturn, game });
  const ayla = game.actors.getName("Ayla the Bold");
  await command(everturn, "apply_damage", { target: "ayla", amount: 5, hp: 15 });
  assert.equal(ayla.system.attributes.hp.value, 15);
  const stamp = ayla._stats.modifiedTime;
  await command(everturn, "apply_damage", { target: "ayla", amount: 5, hp: 15 });
  assert.equal(ayla.system.attributes.hp.value, 15);
  assert.equal(ayla._stats.modifiedTime, stamp, "nothing written the second time");
  await command(everturn, "apply_healing", { target: "ayla", amount: 3, hp: 18 });
  assert.equal(ayla.system.attributes.hp.value, 18);
  assert.deepEqual(everturn.log, []);
});

test("a target that is nowhere fails with a reason", async () => {
  const { everturn } = await gmTable();
  assert.deepEqual(await command(everturn, "apply_damage", { target: "nobody", amount: 1 }),
    { ok: false, reason: 'no combatant, player or actor "nobody" in this world' });
});

test("apply_condition and remove_condition: PF2e's conditions set to Everturn's value, not sent back", async () => {
  const { game, everturn } = await gmTable();
  await runningCombat({ everturn, game });
  const ayla = game.actors.getName("Ayla the Bold");
  await command(everturn, "apply_condition", { target: "ayla", condition: "frightened", value: 2 });
  assert.equal(ayla.getCondition("frightened").value, 2);
  await command(everturn, "apply_condition", { target: "ayla", condition: "frightened", value: 3 });
  assert.equal(ayla.getCondition("frightened").value, 3);
  await command(everturn, "apply_condition", { target: "ayla", condition: "frightened", value: 1 });
  assert.equal(ayla.getCondition("frightened").value, 1);
  await command(everturn, "apply_condition", { target: "ayla", condition: "prone" });
  assert.equal(ayla.getCondition("prone").value, null);
  await command(everturn, "remove_condition", { target: "ayla", condition: "frightened" });
  assert.equal(ayla.getCondition("frightened"), null);
  assert.deepEqual(everturn.log, []);
  assert.deepEqual(await command(everturn, "apply_condition", { target: "ayla", condition: "sleepy" }),
    { ok: false, reason: 'Pathfinder 2e has no condition "sleepy"' });
});

test("conditions in other systems are Foundry's status effects", async () => {
  const { game, everturn } = await gmTable({ system: "core" });
  const ayla = game.actors.getName("Ayla the Bold");
  await command(everturn, "apply_condition", { target: "ayla", condition: "prone" });
  assert.deepEqual([...ayla.statuses], ["prone"]);
  await command(everturn, "remove_condition", { target: "ayla", condition: "prone" });
  assert.deepEqual([...ayla.statuses], []);
  const ack = await command(everturn, "apply_condition", { target: "ayla", condition: "sleepy" });
  assert.equal(ack.ok, false);
  assert.match(ack.reason, /^Foundry could not carry out apply_condition: Invalid status ID "sleepy"/);
});

test("spawn_token, move_token, remove_token: the active scene's tokens", async () => {
  const { game, everturn } = await gmTable();
  const scene = game.scenes.active;
  assert.deepEqual(await command(everturn, "spawn_token", { actor: "Goblin", x: 300, y: 400, name: "Goblin 2" }), { ok: true });
  const spawned = scene.tokens.getName("Goblin 2");
  assert.deepEqual([spawned.x, spawned.y, spawned.actorId], [300, 400, game.actors.getName("Goblin").id]);
  await command(everturn, "move_token", { token: spawned.id, x: 350, y: 450 });
  assert.deepEqual([spawned.x, spawned.y], [350, 450]);
  await command(everturn, "move_token", { token: "c1", x: 0, y: 0 }); // the token spawn_token c1 made
  assert.deepEqual([spawned.x, spawned.y], [0, 0]);
  await command(everturn, "remove_token", { token: "Goblin 2" });
  assert.equal(scene.tokens.getName("Goblin 2"), undefined);
  assert.deepEqual(await command(everturn, "remove_token", { token: "Goblin 2" }),
    { ok: false, reason: 'no token "Goblin 2" on any scene' });
});

test("show_journal: the entry, or one of its pages, shown to the players", async () => {
  const { game, everturn, world } = await gmTable();
  const handout = game.journal.getName("Handout");
  await command(everturn, "show_journal", { journal: "Handout" });
  await command(everturn, "show_journal", { journal: handout.id, page: "The letter" });
  assert.deepEqual(world.shown.map(({ document, parent, force }) => ({ document, parent, force })), [
    { document: handout.id, parent: null, force: true },
    { document: handout.pages.getName("The letter").id, parent: handout.id, force: true },
  ]);
  assert.deepEqual(await command(everturn, "show_journal", { journal: "Bestiary" }),
    { ok: false, reason: 'no journal entry "Bestiary" in this world' });
});

test("a command kind this module does not know fails, saying to update it", async () => {
  const { everturn } = await gmTable();
  assert.deepEqual(await command(everturn, "teleport_party", {}),
    { ok: false, reason: 'this Everturn bridge module cannot carry out "teleport_party" commands: update it' });
});

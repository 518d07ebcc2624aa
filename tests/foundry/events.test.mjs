// What happens in the world reaches Everturn as the events docs/bridge.md lists, with ids every
// GM's browser makes alike.

import assert from "node:assert/strict";
import { test } from "node:test";

import { plainText } from "../../server/bridge/foundry/scripts/events.js";
import { rollOf } from "./fake-foundry.mjs";
import { EVENT_ID, browser, player, settle, table } from "./table.mjs";

async function gmAndPlayer(options) {
  const setup = table(options);
  const gm = await browser(setup, "Gamemaster");
  return { setup, gm, ayla: player(setup, "Ayla"), everturn: setup.everturn };
}

async function startedCombat(setup, gm) {
  const combat = await gm.client.Combat.create({ active: true });
  await combat.createEmbeddedDocuments("Combatant", [
    { name: "Ayla the Bold", actorId: setup.actors["Ayla the Bold"], initiative: 18 },
    { name: "Goblin", actorId: setup.actors.Goblin, initiative: 12 },
  ]);
  await combat.startCombat();
  await settle();
  return combat;
}

test("a player's chat message becomes her post, by the message's id", async () => {
  const { everturn, ayla } = await gmAndPlayer();
  const message = await ayla.ChatMessage.create({ content: "<p>I light a torch &amp; wait.</p>" });
  await settle();
  assert.deepEqual(everturn.log, [{
    id: `chat.${message.id}`, type: "chat", data: { content: "I light a torch & wait.", player_id: "ayla" },
  }]);
});

test("the GM's messages are narration, an NPC's line keeps its speaker", async () => {
  const { gm, everturn } = await gmAndPlayer();
  await gm.client.ChatMessage.create({ content: "The door creaks." });
  await gm.client.ChatMessage.create({ content: "Who goes there?", speaker: { alias: "Warden" } });
  await settle();
  assert.deepEqual(everturn.log.map((e) => e.data), [
    { content: "The door creaks." },
    { content: "Who goes there?", speaker: "Warden" },
  ]);
});

test("out-of-character messages and whispers say so", async () => {
  const { setup, everturn, ayla } = await gmAndPlayer();
  await ayla.ChatMessage.create({ content: "brb", style: 1 });
  await ayla.ChatMessage.create({ content: "psst", whisper: [setup.users.Gamemaster, setup.users.Bren] });
  await settle();
  assert.deepEqual(everturn.log.map((e) => e.data), [
    { content: "brb", player_id: "ayla", ooc: true },
    { content: "psst", player_id: "ayla", whisper_to: ["gm", "bren"] },
  ]);
});

test("a roll is sent with its formula and each die as rolled", async () => {
  const { everturn, ayla } = await gmAndPlayer();
  const message = await ayla.ChatMessage.create({ rolls: [rollOf("2d20kh+7", [4, 17])], flavor: "Attack" });
  await settle();
  assert.deepEqual(everturn.log, [{
    id: `roll.${message.id}.0`, type: "roll",
    data: { formula: "2d20kh+7", faces: [4, 17], player_id: "ayla", flavor: "Attack" },
  }]);
});

test("a GM's secret roll stays secret", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  await gm.client.ChatMessage.create({ rolls: [rollOf("1d20", [3])], whisper: [setup.users.Gamemaster] });
  await settle();
  assert.deepEqual(everturn.log, []);
});

test("a combat started in Foundry becomes an encounter, players by id and creatures by combatant", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  const combat = await startedCombat(setup, gm);
  const [ayla, goblin] = combat.turns;
  assert.deepEqual(everturn.log, [{
    id: `start.${combat.id}`, type: "combat_start",
    data: { combatants: [
      { id: ayla.id, name: "Ayla the Bold", player_id: "ayla", initiative: 18 },
      { id: goblin.id, name: "Goblin", initiative: 12 },
    ] },
  }]);
});

test("turns moved in Foundry are sent as whose turn it is now", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  const combat = await startedCombat(setup, gm);
  await combat.nextTurn();
  await combat.nextTurn();
  await settle();
  const turns = everturn.log.filter((e) => e.type === "combat_turn");
  assert.deepEqual(turns.map((e) => e.data), [
    { round: 1, combatant: combat.turns[1].id },
    { round: 2, combatant: "ayla" },
  ]);
  assert.notEqual(turns[0].id, turns[1].id);
  assert.match(turns[0].id, new RegExp(`^turn\\.${combat.id}\\.\\d+$`));
});

test("a turn going back and forth is a new event each time", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  const combat = await startedCombat(setup, gm);
  await combat.update({ turn: 1 });
  await combat.update({ turn: 0 });
  await combat.update({ turn: 1 });
  await settle();
  const turns = everturn.log.filter((e) => e.type === "combat_turn");
  assert.equal(turns.length, 3);
  assert.equal(new Set(turns.map((e) => e.id)).size, 3);
});

test("deleting a started combat ends the encounter; one never started ends nothing", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  const idle = await gm.client.Combat.create({});
  await idle.delete();
  const combat = await startedCombat(setup, gm);
  await combat.delete();
  await settle();
  assert.deepEqual(everturn.log.filter((e) => e.type === "combat_end"), [
    { id: `end.${combat.id}`, type: "combat_end", data: {} },
  ]);
});

test("a combatant's HP and conditions changed in Foundry are sent; others' are not", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  const combat = await startedCombat(setup, gm);
  const bren = gm.game.actors.get(setup.actors["Bren Ironside"]);
  await bren.update({ "system.attributes.hp.value": 10 }); // not in the combat
  const goblin = gm.game.actors.get(setup.actors.Goblin);
  await goblin.update({ "system.attributes.hp.value": 2 });
  const ayla = gm.game.actors.get(setup.actors["Ayla the Bold"]);
  await ayla.increaseCondition("frightened", { value: 2 });
  await ayla.decreaseCondition("frightened", { forceRemove: true });
  await settle();
  const goblinId = combat.turns[1].id;
  assert.deepEqual(everturn.log.filter((e) => e.type === "actor").map((e) => e.data), [
    { combatant: goblinId, hp: 2 },
    { combatant: "ayla", conditions: { frightened: 2 } },
    { combatant: "ayla", conditions: { frightened: 0 } },
  ]);
});

test("status effects (systems other than PF2e) are sent as conditions", async () => {
  const { setup, gm, everturn } = await gmAndPlayer({ system: "core" });
  await startedCombat(setup, gm);
  const ayla = gm.game.actors.get(setup.actors["Ayla the Bold"]);
  await ayla.toggleStatusEffect("prone", { active: true });
  await ayla.toggleStatusEffect("prone", { active: false });
  await settle();
  assert.deepEqual(everturn.log.filter((e) => e.type === "actor").map((e) => e.data), [
    { combatant: "ayla", conditions: { prone: 1 } },
    { combatant: "ayla", conditions: { prone: 0 } },
  ]);
});

test("activating a scene starts Everturn's next scene", async () => {
  const { gm, everturn } = await gmAndPlayer();
  const road = gm.game.scenes.getName("The road");
  await road.activate();
  await settle();
  assert.deepEqual(everturn.log, [{
    id: `scene.${road.id}.${road._stats.modifiedTime}`, type: "scene",
    data: { title: "The road", description: "Rain on the road." },
  }]);
});

test("changes made with the module's mark are never sent back", async () => {
  const { setup, gm, everturn } = await gmAndPlayer();
  const combat = await startedCombat(setup, gm);
  const before = everturn.log.length;
  await gm.client.ChatMessage.create({ content: "From Everturn", flags: { "everturn-bridge": { command: "c9" } } });
  await gm.game.actors.get(setup.actors.Goblin).update({ "system.attributes.hp.value": 1 }, { everturn: "c10" });
  await combat.update({ turn: 1 }, { everturn: "c11" });
  await combat.delete({ everturn: "c12" });
  await settle();
  assert.equal(everturn.log.length, before);
});

test("every GM's browser makes the same events with the same ids", async () => {
  const setup = table({ gms: ["Gamemaster", "Assistant"] });
  const one = await browser(setup, "Gamemaster");
  const two = await browser(setup, "Assistant");
  const made = { [one.module.bridge.transport.instance]: [], [two.module.bridge.transport.instance]: [] };
  for (const gm of [one, two]) {
    const record = gm.bridge.record.bind(gm.bridge);
    gm.bridge.record = (events) => {
      made[gm.transport.instance].push(...events);
      record(events);
    };
  }
  // Combat started in the assistant's browser: its combatStart hook fires there only.
  const combat = await two.client.Combat.create({ active: true });
  await combat.createEmbeddedDocuments("Combatant", [
    { name: "Ayla the Bold", actorId: setup.actors["Ayla the Bold"], initiative: 18 },
    { name: "Goblin", actorId: setup.actors.Goblin, initiative: 12 },
  ]);
  await combat.startCombat();
  await combat.nextTurn();
  await player(setup, "Ayla").ChatMessage.create({ content: "Hi" });
  await settle();
  const ids = (gm) => [...new Set(made[gm.transport.instance].map((e) => e.id))];
  assert.deepEqual(ids(one), ids(two));
  assert.deepEqual(ids(one).length, 3);
  for (const id of ids(one)) assert.match(id, EVENT_ID);
  assert.deepEqual(setup.everturn.appliedIds, ids(one));
  assert.deepEqual([...one.client.hookErrors, ...two.client.hookErrors], []);
});

test("chat HTML becomes the plain text of a post", () => {
  assert.equal(plainText("<p>One<br>two</p><p>&lt;three&gt; &#39;four&#x27;</p>"), "One\ntwo\n<three> 'four'");
});

// The module as Foundry starts it: its settings, the bridge in GMs' browsers only, this browser's
// instance id made once, and a restart when the GM changes the settings.

import assert from "node:assert/strict";
import { test } from "node:test";

import { install } from "../../server/bridge/foundry/scripts/main.js";
import { browser, player, settle, table } from "./table.mjs";

test("init registers the GM-only world settings, the done-set and the browser's instance id", async () => {
  const setup = table();
  const gm = await browser(setup, "Gamemaster");
  const registry = gm.client.settings.registry;
  for (const key of ["serverUrl", "token", "campaign", "transport"]) {
    const config = registry.get(`everturn-bridge.${key}`);
    assert.deepEqual([config.scope, config.config, config.restricted], ["world", true, true], key);
    assert.equal(config.name, `EVERTURN.Settings.${key}.Name`);
  }
  assert.deepEqual(Object.keys(registry.get("everturn-bridge.transport").choices), ["auto", "websocket", "long-poll"]);
  assert.equal(registry.get("everturn-bridge.transport").default, "auto");
  assert.deepEqual([registry.get("everturn-bridge.doneCommands").scope, registry.get("everturn-bridge.doneCommands").config], ["world", false]);
  assert.deepEqual([registry.get("everturn-bridge.instance").scope, registry.get("everturn-bridge.instance").config], ["client", false]);
  assert.equal(gm.game.modules.get("everturn-bridge").api, gm.module);
});

test("the bridge starts in a GM's browser, never in a player's", async () => {
  const setup = table();
  const gm = await browser(setup, "Gamemaster");
  const ayla = player(setup, "Ayla");
  const module = install({ ...ayla.foundry, clock: setup.clock, makeTransport: () => { throw new Error("a player connected"); } });
  ayla.Hooks.callAll("init");
  ayla.Hooks.callAll("ready");
  await settle();
  assert.equal(module.bridge, null);
  assert.equal(gm.bridge.status().connected, true);
  assert.equal(gm.bridge.status().emitter, true);
});

test("a GM whose settings are not filled in is told what to fill in", async () => {
  const setup = table();
  setup.world.settings.delete("everturn-bridge.token");
  const gm = await browser(setup, "Gamemaster");
  assert.equal(gm.bridge, null);
  assert.deepEqual(gm.client.notifications, [{ level: "warn",
    message: "Everturn bridge: fill in Server URL, Bridge token and Campaign in the module settings to connect." }]);
});

test("the instance id is made once per browser and kept", async () => {
  const setup = table();
  const client = setup.world.client("Gamemaster");
  const made = [];
  const module = install({ ...client.foundry, clock: setup.clock, randomId: () => "Abc123Def456Ghi7",
    makeTransport: (choice, options) => { made.push(options); return setup.everturn.transport(options.instance); } });
  client.Hooks.callAll("init");
  client.Hooks.callAll("ready");
  await settle();
  assert.equal(made[0].instance, "gm-Abc123Def456Ghi7");
  assert.equal(client.game.settings.get("everturn-bridge", "instance"), "gm-Abc123Def456Ghi7");
  assert.equal(made[0].world, "everturn-test");
  assert.equal(module.instance(), "gm-Abc123Def456Ghi7");
});

test("saving new settings restarts the bridge once, with what it had not sent", async () => {
  const setup = table();
  const client = setup.world.client("Gamemaster");
  const made = [];
  install({ ...client.foundry, clock: setup.clock, log: { warn() {}, error() {} },
    makeTransport: (choice, options) => { made.push({ choice, ...options }); return setup.everturn.transport(`gm-${made.length}`); } });
  client.Hooks.callAll("init");
  client.Hooks.callAll("ready");
  await settle();
  await client.game.settings.set("everturn-bridge", "campaign", "c2");
  await client.game.settings.set("everturn-bridge", "transport", "long-poll");
  await setup.clock.advance(1);
  assert.deepEqual(made.map((m) => [m.campaign, m.choice]), [["c1", "auto"], ["c2", "long-poll"]]);
});

test("a Server URL that is not http(s) is said, not retried", async () => {
  const setup = table();
  setup.world.settings.set("everturn-bridge.serverUrl", "everturn.example");
  const gm = await browser(setup, "Gamemaster");
  assert.equal(gm.bridge, null);
  assert.deepEqual(gm.client.notifications.map((n) => [n.level, n.message]), [["error",
    'Everturn bridge: the Server URL must start with http:// or https:// (it is "everturn.example").']]);
});

// A table to test on: a fake Foundry world with its GMs, players and their characters, an
// in-memory Everturn, a clock the test drives, and GM browsers running the real module
// (main.js, started as Foundry starts it: the init hook, then ready).

import { install } from "../../server/bridge/foundry/scripts/main.js";
import { FakeClock, settle } from "./fake-clock.mjs";
import { FakeEverturn } from "./fake-everturn.mjs";
import { FakeWorld, OWNER } from "./fake-foundry.mjs";

export const EVENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A log that keeps what the module says instead of printing it. */
export function quietLog() {
  const lines = [];
  const keep = (level) => (...args) => lines.push({ level, text: args.map(String).join(" ") });
  return { lines, info: keep("info"), log: keep("log"), warn: keep("warn"), error: keep("error"), debug: keep("debug") };
}

/**
 * A world with GMs, players (each with an owned character) and a goblin no player owns.
 * Returns {world, everturn, clock, actors: {name: id}, users: {name: id}, scene}.
 */
export function table({ system = "pf2e", gms = ["Gamemaster"], players = [["Ayla", "Ayla the Bold", 20], ["Bren", "Bren Ironside", 24]] } = {}) {
  const world = new FakeWorld({ system });
  const users = {};
  const actors = {};
  for (const name of gms) users[name] = world.addUser(name, { gm: true });
  for (const [name, character, hp] of players) {
    users[name] = world.addUser(name);
    actors[character] = world.add("Actor", {
      name: character, type: "character", system: { attributes: { hp: { value: hp, max: hp } } },
      ownership: { default: 0, [users[name]]: OWNER },
    });
  }
  actors.Goblin = world.add("Actor", { name: "Goblin", type: "npc", system: { attributes: { hp: { value: 6, max: 6 } } } });
  const scene = world.add("Scene", {
    name: "The crypt", navName: "Crypt", active: true,
    tokens: [{ name: "Goblin", actorId: actors.Goblin, x: 100, y: 100 }],
  });
  world.add("Scene", { name: "The road", active: false, description: "<p>Rain on the <b>road</b>.</p>" });
  world.add("JournalEntry", { name: "Handout", pages: [{ name: "The map" }, { name: "The letter" }] });
  for (const [key, value] of Object.entries({ serverUrl: "https://everturn.example", token: "evt_bridge", campaign: "c1" })) {
    world.settings.set(`everturn-bridge.${key}`, value);
  }
  return { world, everturn: new FakeEverturn(), clock: new FakeClock(), actors, users, scene };
}

/** A browser of `user` running the module against the table's Everturn; resolves once it is ready. */
export async function browser(setup, user, { instance = `gm-${user.toLowerCase()}`, transport } = {}) {
  const client = setup.world.client(user);
  const log = quietLog();
  const made = transport ?? setup.everturn.transport(instance);
  const module = install({
    ...client.foundry,
    clock: setup.clock,
    log,
    randomId: () => instance.replace(/^gm-/, ""),
    makeTransport: () => made,
  });
  client.Hooks.callAll("init");
  client.settings.local.set("everturn-bridge.instance", instance);
  client.Hooks.callAll("ready");
  await settle();
  return { client, module, log, transport: made, game: client.game, bridge: module.bridge };
}

/** A player's browser: no module running (it starts for GMs only), just hands to act with. */
export function player(setup, user) {
  return setup.world.client(user);
}

export { settle };

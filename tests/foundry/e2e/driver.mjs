// The Foundry side of the Python end-to-end test: a fake Foundry world running the real module
// (scripts/main.js, loaded as Foundry loads it: Foundry's globals, then the init and ready hooks),
// against a real Everturn server, driven by JSON lines.
//
//   node --experimental-websocket tests/foundry/e2e/driver.mjs
//
// Environment: EVERTURN_URL (http://127.0.0.1:12345), EVERTURN_TOKEN (a bridge token),
// EVERTURN_CAMPAIGN, EVERTURN_WORLD, EVERTURN_TRANSPORT (websocket | long-poll | auto),
// EVERTURN_INSTANCE (optional: this browser's instance id), EVERTURN_PLAYERS (JSON:
// [{"user": "Ayla", "player_id": "ayla", "actor": "Ayla the Bold", "hp": 20, "max_hp": 20}]),
// EVERTURN_SYSTEM (optional: pf2e, the default, or core).
//
// Each line on stdin is one request; each gets exactly one JSON line on stdout, in order:
// {"ok": true, ...} or {"ok": false, "error": "..."}. Logs go to stderr only.
//
//   {"op": "chat", "user": "Ayla", "content": "...", "ooc"?: true, "whisper"?: ["gm" | user name]} -> {id}
//   {"op": "gm_chat", "content": "...", "alias"?: "Warden"}                   -> {id}
//   {"op": "roll", "user": "Ayla", "formula": "1d20+7", "faces": [14]}          -> {id} ("user" absent: the GM)
//   {"op": "add_npc", "name": "Goblin", "hp": 6}                                -> {actor}
//   {"op": "combat_start", "combatants": [{"actor": "<actor id, user or actor name>", "initiative": 18}]}
//                                                       -> {combat, combatants: [{id, actor, name, player_id}]}
//   {"op": "next_turn"}                                                         -> {combat}
//   {"op": "end_combat"}
//   {"op": "hp", "actor": "<actor id, user or actor name>", "value": 12}
//   {"op": "state"} -> {combat: null | {id, round, turn, started, combatant: {id, actor, name, player_id},
//                       combatants: [...]}, chat: [{id, content, speaker, whisper, flags, author}],
//                       actors: {<actor id>: {name, hp, max_hp, player_id, conditions}},
//                       bridge: {connected, emitter, since, outbox, done, ...}, hook_errors: [...]}
//     chat: `speaker` is the alias shown, `whisper` and `author` are user names.
//   {"op": "drain"}  answers once the module is connected with nothing left to send, carry out or ack
//                    (20 s at most, else ok false)
//   {"op": "quit"}

import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { FakeWorld, OWNER, rollOf } from "../fake-foundry.mjs";

// stdout is the answers' alone: whatever else anything prints goes to stderr.
for (const level of ["log", "info", "debug"]) console[level] = (...args) => console.error(...args);
// A stray rejection is a bug to read in the log, not a reason to end the world under the test.
process.on("unhandledRejection", (error) => console.error("driver: unhandled rejection", error));

const MODULE = "everturn-bridge";
const DRAIN_MS = 20_000;

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === "") {
    if (fallback !== undefined) return fallback;
    throw new Error(`set ${name}`);
  }
  return value;
}

// -- the world ------------------------------------------------------------------------------------

const players = JSON.parse(env("EVERTURN_PLAYERS", "[]"));
const world = new FakeWorld({ id: env("EVERTURN_WORLD"), system: env("EVERTURN_SYSTEM", "pf2e") });
world.addUser("Gamemaster", { gm: true });
for (const entry of players) {
  const userId = world.addUser(entry.user, { flags: entry.player_id ? { everturn: { playerId: entry.player_id } } : {} });
  const hp = entry.hp ?? entry.max_hp ?? 10;
  world.add("Actor", {
    name: entry.actor ?? entry.user, type: "character",
    system: { attributes: { hp: { value: hp, max: entry.max_hp ?? hp } } },
    ownership: { default: 0, [userId]: OWNER },
  });
}
world.add("Scene", { name: "Scene", active: true });
const settings = {
  serverUrl: env("EVERTURN_URL"), token: env("EVERTURN_TOKEN"), campaign: env("EVERTURN_CAMPAIGN"),
  transport: env("EVERTURN_TRANSPORT", "auto"),
};
for (const [key, value] of Object.entries(settings)) world.settings.set(`${MODULE}.${key}`, value);

const gm = world.client("Gamemaster");
const hands = new Map(players.map((entry) => [entry.user, world.client(entry.user)])); // players act, run nothing

// Foundry's globals, as the GM's browser has them; then the module's entry point.
Object.assign(globalThis, {
  Hooks: gm.Hooks, game: gm.game, ui: gm.ui, CONST: gm.CONST, ChatMessage: gm.ChatMessage, Combat: gm.Combat,
  Journal: gm.Journal,
});
const instance = process.env.EVERTURN_INSTANCE;
const main = fileURLToPath(new URL("../../../server/bridge/foundry/scripts/main.js", import.meta.url));
await import(main);
Hooks.callAll("init");
if (instance) gm.settings.local.set(`${MODULE}.instance`, instance);
Hooks.callAll("ready");
const module = gm.game.modules.get(MODULE).api;
if (!module?.bridge) throw new Error("the module did not start its bridge");
console.error(`driver: world ${world.id}, instance ${module.instance()}, transport ${module.bridge.transport.name}`);

// -- requests -------------------------------------------------------------------------------------

function userNamed(name) {
  const user = gm.game.users.getName(name);
  if (!user) throw new Error(`no user ${name}`);
  return user;
}

/** An actor by id, by its owning user's name, or by its own name. */
function actorNamed(ref) {
  const byId = gm.game.actors.get(ref);
  if (byId) return byId;
  const user = gm.game.users.getName(ref);
  if (user) {
    const owned = gm.game.actors.find((actor) => actor.ownership?.[user.id] >= OWNER);
    if (owned) return owned;
  }
  const byName = gm.game.actors.getName(ref);
  if (byName) return byName;
  throw new Error(`no actor ${ref}`);
}

function actingAs(name) {
  if (name === undefined || name === null) return gm;
  const client = hands.get(name) ?? (userNamed(name).isGM ? gm : null);
  if (!client) throw new Error(`no user ${name}`);
  return client;
}

function playerOf(actor) {
  if (!actor) return null;
  if (actor.flags?.everturn?.playerId) return actor.flags.everturn.playerId;
  for (const [userId, level] of Object.entries(actor.ownership ?? {})) {
    const user = gm.game.users.get(userId);
    if (level >= OWNER && user && !user.isGM) return user.flags?.everturn?.playerId ?? user.name.toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  }
  return null;
}

function describeCombatant(combatant) {
  return combatant ? { id: combatant.id, actor: combatant.actorId, name: combatant.name, player_id: playerOf(combatant.actor),
    initiative: combatant.initiative } : null;
}

function describeCombat() {
  const combat = gm.game.combat ?? gm.game.combats.find((c) => c.started) ?? null;
  if (!combat) return null;
  return { id: combat.id, round: combat.round, turn: combat.turn, started: combat.started,
    combatant: describeCombatant(combat.combatant), combatants: combat.turns.map(describeCombatant) };
}

function state() {
  const actors = {};
  for (const actor of gm.game.actors.values()) {
    const hp = actor.system?.attributes?.hp ?? {};
    const conditions = {};
    for (const item of actor.items.values()) if (item.type === "condition") conditions[item.slug] = item.value ?? 1;
    for (const status of actor.statuses) conditions[status] = 1;
    actors[actor.id] = { name: actor.name, hp: hp.value ?? null, max_hp: hp.max ?? null, player_id: playerOf(actor), conditions };
  }
  const chat = gm.game.messages.map((message) => ({
    id: message.id,
    content: message.content,
    speaker: message.alias,
    whisper: message.whisper.map((id) => gm.game.users.get(id)?.name ?? id),
    flags: message.flags,
    author: message.author?.name ?? null,
  }));
  return { combat: describeCombat(), chat, actors, bridge: module.status(),
    hook_errors: [...world.clients.flatMap((c) => c.hookErrors)].map(({ hook, error }) => `${hook}: ${error?.message ?? error}`) };
}

async function drain() {
  const until = Date.now() + DRAIN_MS;
  while (Date.now() < until) {
    const bridge = module.bridge;
    if (bridge?.isIdle()) return { ok: true, bridge: bridge.status() };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { ok: false, error: `the bridge did not drain within ${DRAIN_MS / 1000} s`, bridge: module.status() };
}

const OPS = {
  async chat({ user, content, ooc, whisper }) {
    const client = actingAs(user);
    const actor = client === gm ? null : actorNamed(user);
    const message = await client.ChatMessage.create({
      content, style: ooc ? 1 : actor ? 2 : 0,
      speaker: actor ? { actor: actor.id, alias: actor.name } : {},
      whisper: (whisper ?? []).flatMap((who) => (who === "gm" ? gm.game.users.filter((u) => u.isGM) : [userNamed(who)]).map((u) => u.id)),
    });
    return { id: message.id };
  },

  async gm_chat({ content, alias }) {
    const message = await gm.ChatMessage.create({ content, speaker: alias ? { alias } : {} });
    return { id: message.id };
  },

  async roll({ user, formula, faces }) {
    const client = actingAs(user);
    const message = await client.ChatMessage.create({ rolls: [rollOf(formula, faces ?? [])], content: "" });
    return { id: message.id };
  },

  async add_npc({ name, hp }) {
    const [actor] = await world.createDocuments("Actor", [{
      name, type: "npc", system: { attributes: { hp: { value: hp, max: hp } } },
    }], {}, gm);
    return { actor: actor.id };
  },

  async combat_start({ combatants }) {
    const combat = await gm.Combat.create({ active: true, scene: gm.game.scenes.active?.id ?? null });
    await combat.createEmbeddedDocuments("Combatant", combatants.map(({ actor, initiative }) => {
      const found = actorNamed(actor);
      return { actorId: found.id, name: found.name, initiative: initiative ?? null };
    }));
    await combat.startCombat();
    return { combat: combat.id, combatants: combat.turns.map(describeCombatant) };
  },

  async next_turn() {
    const combat = gm.game.combat;
    if (!combat) throw new Error("no combat");
    await combat.nextTurn();
    return { combat: describeCombat() };
  },

  async end_combat() {
    const combat = gm.game.combat;
    if (!combat) throw new Error("no combat");
    await combat.delete(); // what End Combat does once the GM confirms
    return {};
  },

  async hp({ actor, value }) {
    await actorNamed(actor).update({ "system.attributes.hp.value": value });
    return {};
  },

  async state() {
    return state();
  },

  drain,

  /** The GM closes the world's tab: the module stops (its websocket closes, its polls end). */
  async close() {
    module.stop();
    return {};
  },

  /** The GM opens the world again: the module starts as on Foundry's ready. */
  async open() {
    module.start();
    return {};
  },

  async quit() {
    return {};
  },
};

function answer(body) {
  process.stdout.write(`${JSON.stringify(body)}\n`);
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const op = OPS[request?.op];
  if (!op) return { ok: false, error: `unknown op ${JSON.stringify(request?.op)}` };
  try {
    const result = await op(request);
    return "ok" in result ? result : { ok: true, ...result };
  } catch (error) {
    return { ok: false, error: error?.message ?? String(error) };
  }
}

function leave(code = 0) {
  module.stop();
  process.exit(code);
}

// One request at a time, answered in order.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
lines.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    const body = await handle(line);
    answer(body);
    if (JSON.parse(line)?.op === "quit") leave(0);
  });
});
lines.on("close", () => queue.then(() => leave(0)));

// Carrying out what Everturn asks of the world (docs/bridge.md, "Commands' data"), through
// Foundry's document API (v12 and v13).
//
// Every change is made with `{everturn: <command id>}` in its options, or our flag on what it
// creates, so the events module does not send it back. A command that cannot be carried out
// throws `CommandFailed` with a reason a GM reads in Everturn; Foundry's own errors are wrapped
// into one. Commands are written to be harmless when carried out again after a crash halfway
// (the bridge keeps the ids of those done, but a browser may die between the change and that).

import {
  MODULE_ID, actorOfPlayer, isCombatant, runningCombat, usersOfPlayer,
} from "./players.js";

/** A command that could not be carried out; its message is the reason the GM reads. */
export class CommandFailed extends Error {
  constructor(message) {
    super(message);
    this.name = "CommandFailed";
  }
}

/**
 * Carries out one command `{id, kind, data}`.
 *
 * `foundry`: {game, ChatMessage, Combat, Journal?, quietly(actor, work)}. Resolves once Foundry has
 * made the change; rejects with `CommandFailed`.
 */
export async function carryOut(command, foundry) {
  const carry = KINDS[command.kind];
  if (!carry) {
    throw new CommandFailed(`this Everturn bridge module cannot carry out "${command.kind}" commands: update it`);
  }
  try {
    return await carry(command.data ?? {}, command.id, foundry);
  } catch (error) {
    if (error instanceof CommandFailed) throw error;
    throw new CommandFailed(`Foundry could not carry out ${command.kind}: ${error?.message ?? error}`);
  }
}

// -- chat -----------------------------------------------------------------------------------------

async function createChatMessage(data, id, { game, ChatMessage }) {
  if (typeof data.content !== "string" || !data.content.trim()) throw new CommandFailed("the message has no content");
  const speaker = { alias: typeof data.speaker === "string" && data.speaker ? data.speaker : "Everturn" };
  const actor = typeof data.player_id === "string" ? actorOfPlayer(data.player_id, game) : null;
  if (actor) speaker.actor = actor.id; // the character's portrait beside its words
  const message = {
    content: asHtml(data.content),
    speaker,
    flags: { [MODULE_ID]: { command: id, ...(data.post != null ? { post: data.post } : {}) } },
  };
  if (Array.isArray(data.whisper_to) && data.whisper_to.length) message.whisper = recipients(data.whisper_to, game);
  await ChatMessage.create(message, { everturn: id });
}

/** The users a whisper goes to; one meant for nobody here goes to the GMs, never to the whole table. */
function recipients(whisperTo, game) {
  const ids = new Set();
  const gms = [...game.users.values()].filter((user) => user.isGM);
  for (const who of whisperTo) {
    const users = who === "gm" ? gms : usersOfPlayer(who, game.users);
    for (const user of users) ids.add(user.id);
  }
  if (!ids.size) for (const user of gms) ids.add(user.id);
  return [...ids];
}

/** Everturn's text is plain: Foundry renders chat content as HTML, so it is escaped, not trusted. */
function asHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c])
    .replace(/\r?\n/g, "<br>");
}

// -- combat ---------------------------------------------------------------------------------------

async function startCombat(data, id, { game, Combat }) {
  if (runningCombat(game)) return; // the world already fights: Everturn follows it, not the other way
  const wanted = Array.isArray(data.combatants) ? data.combatants : [];
  if (!wanted.length) throw new CommandFailed("start_combat names no combatants");
  const scene = game.scenes?.active ?? game.scenes?.viewed ?? null;
  // Carried out halfway before (the browser died): finish that combat rather than make a second.
  let combat = [...game.combats.values()].find((c) => c.flags?.[MODULE_ID]?.command === id);
  if (!combat) {
    combat = await Combat.create({
      scene: scene?.id ?? null,
      active: true,
      flags: { [MODULE_ID]: { command: id, encounter: data.encounter ?? null } },
    }, { everturn: id });
  }
  if (!combat.combatants.size) {
    const taken = new Set();
    const combatants = wanted.map((entry) => combatantData(entry, game, scene, taken));
    await combat.createEmbeddedDocuments("Combatant", combatants, { everturn: id });
  }
  // startCombat(), not an update of our own: other modules and the tracker expect its hook and sound.
  if (!combat.started) await combat.startCombat();
  if (typeof data.combatant === "string" && !isCombatant(combat.combatant, data.combatant, game.users)) {
    const turn = combat.turns.findIndex((c) => isCombatant(c, data.combatant, game.users));
    if (turn >= 0) await combat.update({ round: wholeNumber(data.round) ?? combat.round, turn }, { everturn: id });
  }
}

/** One of Everturn's combatants as Foundry's: the player's actor, else the actor of that id or name. */
function combatantData(entry, game, scene, taken) {
  const actor = typeof entry.player_id === "string" && entry.player_id ? actorOfPlayer(entry.player_id, game)
    : game.actors.get(entry.cid) ?? game.actors.getName?.(entry.name) ?? null;
  const token = actor && scene
    ? [...scene.tokens.values()].find((t) => t.actorId === actor.id && !taken.has(t.id)) ?? null
    : null;
  if (token) taken.add(token.id);
  return {
    name: entry.name ?? actor?.name ?? entry.cid,
    actorId: actor?.id ?? null,
    tokenId: token?.id ?? null,
    sceneId: token ? scene.id : null,
    initiative: typeof entry.initiative === "number" ? entry.initiative : null,
    flags: { [MODULE_ID]: { cid: entry.cid ?? null } },
  };
}

async function advanceTurn(data, id, { game }) {
  const round = wholeNumber(data.round);
  if (round === null || typeof data.combatant !== "string") {
    throw new CommandFailed("advance_turn needs a round and a combatant");
  }
  const combat = runningCombat(game);
  if (!combat) throw new CommandFailed("no combat is running in Foundry");
  const at = (r, who) => combat.round === r && isCombatant(combat.combatant, who, game.users);
  if (at(round, data.combatant)) return; // already there (done before, or moved in Foundry too)
  const from = data.from;
  if (from && !at(wholeNumber(from.round), from.combatant)) {
    const whose = combat.combatant ? `${combat.combatant.name}'s turn` : "nobody's turn";
    throw new CommandFailed(`the combat has moved on: Foundry is at round ${combat.round}, ${whose}`);
  }
  const turn = combat.turns.findIndex((c) => isCombatant(c, data.combatant, game.users));
  if (turn < 0) throw new CommandFailed(`${data.combatant} is not in Foundry's combat`);
  await combat.update({ round, turn }, { everturn: id });
}

async function endCombat(data, id, { game }) {
  const mine = data.encounter != null
    ? [...game.combats.values()].find((c) => c.flags?.[MODULE_ID]?.encounter === data.encounter) : null;
  const combat = mine ?? runningCombat(game);
  if (!combat) return;
  // delete(), not endCombat(): that one asks the GM to confirm in a dialog nobody may be there to answer.
  await combat.delete({ everturn: id });
}

// -- hit points and conditions --------------------------------------------------------------------

function changeHp(sign) {
  return async (data, id, { game }) => {
    const actor = targetActor(data.target, game);
    const amount = data.amount;
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
      throw new CommandFailed("the amount must be a number >= 0");
    }
    const hp = actor.system?.attributes?.hp;
    if (typeof hp?.value !== "number") {
      throw new CommandFailed(`${actor.name} has no hit points in this system (system.attributes.hp.value)`);
    }
    const max = typeof hp.max === "number" ? hp.max : Infinity;
    // `hp`: what Everturn's encounter has after it. Set rather than added, a command carried out again, or
    // one answering a change made here, changes nothing.
    const wanted = typeof data.hp === "number" && Number.isFinite(data.hp) ? data.hp : hp.value + sign * amount;
    const value = Math.min(Math.max(wanted, 0), max);
    if (value === hp.value) return;
    await actor.update({ "system.attributes.hp.value": value }, { everturn: id });
  };
}

async function applyCondition(data, id, { game, quietly }) {
  const actor = targetActor(data.target, game);
  const slug = conditionSlug(data.condition);
  const value = data.value == null ? null : wholeNumber(data.value);
  if (data.value != null && (value === null || value < 0)) throw new CommandFailed("a condition's value is a whole number >= 0");
  await quietly(actor, () => (value === 0 ? takeOff(actor, slug) : putOn(actor, slug, value, game)));
}

async function removeCondition(data, id, { game, quietly }) {
  const actor = targetActor(data.target, game);
  const slug = conditionSlug(data.condition);
  await quietly(actor, () => takeOff(actor, slug));
}

/** The condition on, at `value` when it has one (PF2e's conditions), else Foundry's status effect. */
async function putOn(actor, slug, value, game) {
  if (typeof actor.increaseCondition !== "function") return toggleStatus(actor, slug, true);
  if (slug === "persistent-damage") {
    throw new CommandFailed("persistent damage needs its formula and type: set it on the sheet in Foundry");
  }
  const held = actor.getCondition(slug);
  if (!held) {
    const known = game.pf2e?.ConditionManager?.getCondition;
    if (typeof known === "function" && !known.call(game.pf2e.ConditionManager, slug)) {
      throw new CommandFailed(`Pathfinder 2e has no condition "${slug}"`);
    }
    await actor.increaseCondition(slug, value == null ? {} : { value });
    return;
  }
  if (value == null || typeof held.value !== "number" || held.value === value) return;
  // PF2e adds `value` to a condition already there; Everturn says what it should now be.
  if (value > held.value) {
    await actor.increaseCondition(slug, { value: value - held.value });
  } else {
    for (let at = held.value; at > value; at--) await actor.decreaseCondition(slug);
  }
}

async function takeOff(actor, slug) {
  if (typeof actor.decreaseCondition !== "function") return toggleStatus(actor, slug, false);
  // Several sources may each have put the condition on: off means off.
  for (let left = 20; left > 0 && actor.getCondition(slug); left--) {
    await actor.decreaseCondition(slug, { forceRemove: true });
  }
}

async function toggleStatus(actor, slug, active) {
  if (typeof actor.toggleStatusEffect !== "function") {
    throw new CommandFailed(`${actor.name} cannot take conditions here (no status effects)`);
  }
  await actor.toggleStatusEffect(slug, { active });
}

function conditionSlug(condition) {
  if (typeof condition !== "string" || !/^[a-z0-9-]{1,64}$/.test(condition)) {
    throw new CommandFailed("the condition must be a slug such as \"frightened\"");
  }
  return condition;
}

/** The actor a command aims at: a combatant's (Foundry's id or Everturn's), a player's, or by id. */
function targetActor(target, game) {
  if (typeof target !== "string" || !target) throw new CommandFailed("the command names no target");
  const running = runningCombat(game);
  const combats = [running, ...game.combats.values()].filter(Boolean);
  for (const combat of combats) {
    for (const combatant of combat.combatants.values()) {
      if (combatant.id !== target && combatant.flags?.[MODULE_ID]?.cid !== target) continue;
      if (!combatant.actor) throw new CommandFailed(`${combatant.name} has no actor in Foundry`);
      return combatant.actor;
    }
  }
  const actor = actorOfPlayer(target, game) ?? game.actors.get(target);
  if (!actor) throw new CommandFailed(`no combatant, player or actor "${target}" in this world`);
  return actor;
}

// -- tokens and journals --------------------------------------------------------------------------

async function moveToken(data, id, { game }) {
  const { scene, token } = findToken(data.token, game);
  const x = coordinate(data.x, "x");
  const y = coordinate(data.y, "y");
  await scene.updateEmbeddedDocuments("Token", [{ _id: token.id, x, y }], { everturn: id });
}

async function spawnToken(data, id, { game }) {
  const scene = game.scenes?.active ?? game.scenes?.viewed ?? null;
  if (!scene) throw new CommandFailed("no scene is active to put the token on");
  if ([...scene.tokens.values()].some((t) => t.flags?.[MODULE_ID]?.command === id)) return; // put there before
  const ref = data.actor;
  const actor = typeof ref === "string" && ref
    ? game.actors.get(ref) ?? game.actors.getName?.(ref) ?? actorOfPlayer(ref, game) : null;
  if (!actor) throw new CommandFailed(`no actor "${ref}" in this world`);
  const x = coordinate(data.x, "x");
  const y = coordinate(data.y, "y");
  const name = typeof data.name === "string" && data.name ? data.name : undefined;
  // The actor's prototype token (its art, size, vision) where Foundry offers it.
  const token = typeof actor.getTokenDocument === "function"
    ? (await actor.getTokenDocument({ x, y, ...(name ? { name } : {}) })).toObject()
    : { actorId: actor.id, name: name ?? actor.name, x, y };
  token.flags = { ...(token.flags ?? {}), [MODULE_ID]: { command: id } };
  await scene.createEmbeddedDocuments("Token", [token], { everturn: id });
}

async function removeToken(data, id, { game }) {
  const { scene, token } = findToken(data.token, game);
  await scene.deleteEmbeddedDocuments("Token", [token.id], { everturn: id });
}

/** A token by id, by the spawn_token command that made it, or by name; the active scene first. */
function findToken(ref, game) {
  if (typeof ref !== "string" || !ref) throw new CommandFailed("the command names no token");
  const scenes = [...new Set([game.scenes.active, game.scenes.viewed, ...game.scenes.values()].filter(Boolean))];
  const ways = [
    (t) => t.id === ref,
    (t) => t.flags?.[MODULE_ID]?.command === ref,
    (t) => t.name === ref,
  ];
  for (const way of ways) {
    for (const scene of scenes) {
      const token = [...scene.tokens.values()].find(way);
      if (token) return { scene, token };
    }
  }
  throw new CommandFailed(`no token "${ref}" on any scene`);
}

async function showJournal(data, id, { game, Journal }) {
  const ref = data.journal;
  const entry = typeof ref === "string" && ref ? game.journal.get(ref) ?? game.journal.getName?.(ref) : null;
  if (!entry) throw new CommandFailed(`no journal entry "${ref}" in this world`);
  let page = null;
  if (data.page != null && data.page !== "") {
    page = entry.pages.get(String(data.page)) ?? entry.pages.getName?.(String(data.page)) ?? null;
    if (!page) throw new CommandFailed(`the journal entry ${entry.name} has no page "${data.page}"`);
  }
  // force: shown to every player even without the permission to open it, as Show Players does.
  if (typeof Journal?.show === "function") {
    await Journal.show(page ?? entry, { force: true });
  } else if (typeof entry.show === "function") {
    await entry.show(true);
  } else {
    entry.sheet?.render(true, page ? { pageId: page.id } : {});
  }
}

// -------------------------------------------------------------------------------------------------

function wholeNumber(value) {
  return Number.isInteger(value) ? value : null;
}

function coordinate(value, name) {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new CommandFailed(`${name} must be a number (pixels)`);
  return Math.round(value);
}

const KINDS = {
  create_chat_message: createChatMessage,
  start_combat: startCombat,
  advance_turn: advanceTurn,
  end_combat: endCombat,
  apply_damage: changeHp(-1),
  apply_healing: changeHp(+1),
  apply_condition: applyCondition,
  remove_condition: removeCondition,
  move_token: moveToken,
  spawn_token: spawnToken,
  remove_token: removeToken,
  show_journal: showJournal,
};

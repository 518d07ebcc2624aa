// What happens in the world, as the events Everturn takes (docs/bridge.md, "Events").
//
// Every GM's browser runs this on the same hooks and must make the same event with the same id:
// the server applies an id once and takes only the emitter's, and a browser that stands by keeps
// what it made in case it becomes the emitter (bridge.js). So ids are built only from world data
// every client shares (document ids, `_stats.modifiedTime`), never from a clock or a counter.
//
// Changes the module made itself are not sent back: updates carry `{everturn: <command id>}` in
// their options (Foundry hands the options to every client's hook), chat messages and combats
// carry our flag, and PF2e's condition calls, which take no options, are hushed while a command
// runs (`quietly`).

import { MODULE_ID, combatantRef, playerOfActor, playerOfUser } from "./players.js";

/** The hooks this module listens to; main.js forwards each to `Witness.observe`. */
export const HOOKS = [
  "createChatMessage", "combatStart", "createCombat", "updateCombat", "deleteCombat", "updateActor",
  "createItem", "updateItem", "deleteItem", "createActiveEffect", "deleteActiveEffect", "updateScene",
];

const ID_PART = /[^A-Za-z0-9_.:-]/g;
const TEXT_MAX = 8000; // Everturn's longest post

export class Witness {
  /** `foundry`: {game, CONST?}; the game's combats are read now, so make it once the world is ready. */
  constructor({ game, CONST }) {
    this.game = game;
    this.ooc = CONST?.CHAT_MESSAGE_STYLES?.OOC ?? 1;
    // Each combat's round as this browser last saw it: a combat going from round 0 to 1 started,
    // which every client sees in updateCombat (the combatStart hook fires only where it was clicked).
    this.rounds = new Map([...game.combats.values()].map((combat) => [combat.id, combat.round]));
    this.hushed = new Map(); // actor id -> commands of ours changing its conditions now
  }

  /** The events for one hook call (none for most); never throws at Foundry. */
  observe(hook, args) {
    const see = this[hook];
    return typeof see === "function" ? see.apply(this, args) ?? [] : [];
  }

  /** Runs `work` (a command of ours changing `actor`'s conditions) with that actor's condition hooks unsent. */
  async quietly(actor, work) {
    this.hushed.set(actor.id, (this.hushed.get(actor.id) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = this.hushed.get(actor.id) - 1;
      if (left > 0) this.hushed.set(actor.id, left);
      else this.hushed.delete(actor.id);
    }
  }

  // -- chat and rolls ---------------------------------------------------------------------------

  createChatMessage(message, options) {
    if (options?.everturn || message.flags?.[MODULE_ID]) return [];
    const author = message.author ?? message.user ?? null;
    const player = author && !author.isGM ? playerOfUser(author) : null;
    const rolls = message.rolls ?? [];
    if (rolls.length) {
      // A GM's secret roll or a blind one stays secret: Everturn's dice log is the table's.
      if (message.blind || message.whisper?.length) return [];
      const flavor = plainText(message.flavor).slice(0, 200);
      return rolls.map((roll, i) => ({
        id: eventId("roll", message.id, i),
        type: "roll",
        data: {
          formula: roll.formula,
          faces: (roll.dice ?? []).flatMap((die) => (die.results ?? []).map((face) => face.result)),
          ...(player ? { player_id: player } : {}),
          ...(flavor ? { flavor } : {}),
        },
      }));
    }
    const content = plainText(message.content).slice(0, TEXT_MAX);
    if (!content) return [];
    const data = { content };
    if (player) {
      data.player_id = player;
    } else {
      const alias = message.speaker?.alias ?? message.alias;
      if (alias && alias !== author?.name) data.speaker = alias; // an NPC's line, not the GM's own voice
    }
    if (message.style === this.ooc) data.ooc = true;
    const to = this.whisperedTo(message, player);
    if (to.length) data.whisper_to = to;
    return [{ id: eventId("chat", message.id), type: "chat", data }];
  }

  whisperedTo(message, author) {
    const to = new Set();
    for (const userId of message.whisper ?? []) {
      const user = this.game.users.get(userId);
      if (!user) continue;
      const who = user.isGM ? "gm" : playerOfUser(user);
      if (who && who !== author) to.add(who);
    }
    return [...to];
  }

  // -- combat -----------------------------------------------------------------------------------

  combatStart(combat) {
    return ours(combat) ? [] : [this.started(combat)];
  }

  createCombat(combat) {
    this.rounds.set(combat.id, combat.round);
    return [];
  }

  updateCombat(combat, changed, options) {
    const before = this.rounds.get(combat.id);
    this.rounds.set(combat.id, combat.round);
    if (options?.everturn || !("round" in changed || "turn" in changed) || !combat.started) return [];
    // The start is said by combat_start (its first turn with it), never as a turn of its own.
    if (before === 0) return ours(combat) ? [] : [this.started(combat)];
    const current = combat.combatant;
    if (!current) return [];
    return [{
      id: eventId("turn", combat.id, modifiedTime(combat, changed)),
      type: "combat_turn",
      data: { round: combat.round, combatant: combatantRef(current, this.game.users) },
    }];
  }

  deleteCombat(combat, options) {
    this.rounds.delete(combat.id);
    if (options?.everturn || !(combat.round > 0)) return []; // one never started ended nothing
    return [{ id: eventId("end", combat.id), type: "combat_end", data: {} }];
  }

  started(combat) {
    const order = combat.turns?.length ? combat.turns : [...combat.combatants.values()];
    return {
      id: eventId("start", combat.id),
      type: "combat_start",
      data: {
        combatants: order.map((combatant) => {
          const player = playerOfActor(combatant.actor, this.game.users);
          return {
            id: combatant.id,
            name: combatant.name,
            ...(player ? { player_id: player } : {}),
            ...(typeof combatant.initiative === "number" ? { initiative: combatant.initiative } : {}),
          };
        }),
      },
    };
  }

  // -- actors: HP and conditions of combatants --------------------------------------------------

  updateActor(actor, changed, options) {
    const hp = changed?.system?.attributes?.hp?.value;
    if (options?.everturn || typeof hp !== "number") return [];
    const combatant = this.combatantOf(actor);
    if (!combatant) return [];
    return [{
      id: eventId("actor", actor.id, modifiedTime(actor, changed)),
      type: "actor",
      data: { combatant: combatantRef(combatant, this.game.users), hp: Math.max(0, Math.round(hp)) },
    }];
  }

  createItem(item, options) {
    return this.condition(item, options, modifiedTime(item));
  }

  updateItem(item, changed, options) {
    return changed?.system ? this.condition(item, options, modifiedTime(item, changed)) : [];
  }

  deleteItem(item, options) {
    return this.condition(item, options, "gone");
  }

  createActiveEffect(effect, options) {
    return this.statuses(effect, options, modifiedTime(effect));
  }

  deleteActiveEffect(effect, options) {
    return this.statuses(effect, options, "gone");
  }

  /** A PF2e condition (an item) put on, changed or taken off a combatant's actor. */
  condition(item, options, when) {
    const actor = item.parent;
    if (item.type !== "condition" || !actor || options?.everturn || this.hushed.has(actor.id)) return [];
    const combatant = this.combatantOf(actor);
    const slug = item.slug ?? item.system?.slug;
    if (!combatant || !slug) return [];
    // The actor's condition as it stands now: another item of the same slug may still hold it.
    const held = typeof actor.getCondition === "function" ? actor.getCondition(slug)
      : when === "gone" ? null : item;
    const value = held ? (typeof held.value === "number" ? held.value : 1) : 0;
    return [{
      id: eventId("cond", item.id, when),
      type: "actor",
      data: { combatant: combatantRef(combatant, this.game.users), conditions: { [slug]: value } },
    }];
  }

  /** A status effect (Foundry's conditions, other systems) put on or taken off a combatant's actor. */
  statuses(effect, options, when) {
    const actor = effect.parent;
    const statuses = [...(effect.statuses ?? [])];
    if (!statuses.length || !actor || options?.everturn || this.hushed.has(actor.id)) return [];
    const combatant = this.combatantOf(actor);
    if (!combatant) return [];
    const conditions = {};
    for (const status of statuses) {
      conditions[status] = actor.statuses ? (actor.statuses.has(status) ? 1 : 0) : (when === "gone" ? 0 : 1);
    }
    return [{
      id: eventId("status", effect.id, when),
      type: "actor",
      data: { combatant: combatantRef(combatant, this.game.users), conditions },
    }];
  }

  /** The actor's combatant in a started combat, if it fights (a token's own actor by its token). */
  combatantOf(actor) {
    for (const combat of this.game.combats.values()) {
      if (!combat.started) continue;
      const found = [...combat.combatants.values()].find((combatant) =>
        actor.isToken ? combatant.tokenId === actor.token?.id : combatant.actorId === actor.id);
      if (found) return found;
    }
    return null;
  }

  // -- scenes -----------------------------------------------------------------------------------

  updateScene(scene, changed, options) {
    if (options?.everturn || changed?.active !== true) return [];
    const description = plainText(scene.description).slice(0, TEXT_MAX);
    return [{
      id: eventId("scene", scene.id, modifiedTime(scene, changed)),
      type: "scene",
      data: { title: scene.navName || scene.name, ...(description ? { description } : {}) },
    }];
  }
}

/** A combat Everturn asked for (start_combat): its start is Everturn's already. */
function ours(combat) {
  return Boolean(combat.flags?.[MODULE_ID]);
}

/** An event id from its parts: `^[A-Za-z0-9_.:-]{1,64}$`, as the server requires. */
export function eventId(...parts) {
  return parts.map((part) => String(part).replace(ID_PART, "_")).join(".").slice(0, 64);
}

/** When the server last changed `doc`, the same for every client; a hash of the change without it. */
function modifiedTime(doc, changed) {
  const at = changed?._stats?.modifiedTime ?? doc._stats?.modifiedTime ?? doc.token?._stats?.modifiedTime;
  if (at != null) return at;
  // Tokens' own actors may lack their own time: the change itself is what every client shares.
  return `h${fnv1a(JSON.stringify(changed ?? {}))}`;
}

function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** Foundry's chat HTML as the plain text an Everturn post holds. */
export function plainText(html) {
  return String(html ?? "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|li|h[1-6])>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
      if (name[0] === "#") {
        const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

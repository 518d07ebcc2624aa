// A small fake of the parts of Foundry VTT (v12/v13) the Everturn bridge module calls.
//
// One FakeWorld is Foundry's server: it holds every document's source and, like Foundry, applies
// each change once and then calls the change's hooks in every connected client with the same
// `changed` diff, `options` and acting user id. Each FakeClient is one browser: its own `game`
// (user, collections of its own document instances, settings), its own Hooks and notifications.
// Hooks that Foundry fires only where a thing was clicked (combatStart) fire only in that client.
//
// Faithful where the module depends on it: ids of 16 alphanumerics; `_stats.modifiedTime` set by
// the server on every change; updates with dotted keys, diffed (an update that changes nothing
// fires no hook); combat turns sorted by initiative (highest first); startCombat -> round 1, turn 0;
// nextTurn wrapping to the next round; PF2e's increaseCondition adding to a condition already
// there; world settings shared and their onChange called in every client; a throwing hook handler
// logged, not thrown at the caller. Anything else is left out.

export const OWNER = 3;
const GM_ROLE = 4;
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const clone = (value) => (value === undefined ? undefined : structuredClone(value));

/** Foundry's Collection: a Map with a few array helpers. */
export class Collection extends Map {
  get contents() {
    return [...this.values()];
  }

  find(fn) {
    for (const value of this.values()) if (fn(value)) return value;
    return undefined;
  }

  filter(fn) {
    return [...this.values()].filter(fn);
  }

  map(fn) {
    return [...this.values()].map(fn);
  }

  some(fn) {
    return [...this.values()].some(fn);
  }

  getName(name) {
    return this.find((doc) => doc.name === name);
  }
}

/** Foundry's Hooks, one per client. */
export class FakeHooks {
  constructor() {
    this.handlers = new Map();
    this.errors = [];
    this.nextId = 1;
  }

  on(name, fn, { once = false } = {}) {
    const id = this.nextId++;
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push({ fn, id, once });
    return id;
  }

  once(name, fn) {
    return this.on(name, fn, { once: true });
  }

  off(name, fnOrId) {
    const list = this.handlers.get(name) ?? [];
    this.handlers.set(name, list.filter((h) => h.fn !== fnOrId && h.id !== fnOrId));
  }

  callAll(name, ...args) {
    for (const handler of [...(this.handlers.get(name) ?? [])]) {
      if (handler.once) this.off(name, handler.id);
      try {
        handler.fn(...args);
      } catch (error) { // Foundry logs a failing hook and goes on with the others
        this.errors.push({ hook: name, error });
      }
    }
    return true;
  }

  call(name, ...args) {
    for (const handler of [...(this.handlers.get(name) ?? [])]) {
      if (handler.once) this.off(name, handler.id);
      let result;
      try {
        result = handler.fn(...args);
      } catch (error) {
        this.errors.push({ hook: name, error });
      }
      if (result === false) return false;
    }
    return true;
  }
}

/** "a.b.c": v as {a: {b: {c: v}}}, merged over other keys. */
export function expandObject(flat) {
  const out = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let at = out;
    for (const part of parts.slice(0, -1)) at = at[part] ??= {};
    const last = parts.at(-1);
    at[last] = isPlain(value) && isPlain(at[last]) ? { ...at[last], ...expandObject(value) } : value;
  }
  return out;
}

function isPlain(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What `changes` would change in `source`, as Foundry's diff: only the leaves that differ. */
function diff(source, changes) {
  const out = {};
  for (const [key, value] of Object.entries(changes)) {
    if (isPlain(value) && isPlain(source?.[key])) {
      const inner = diff(source[key], value);
      if (Object.keys(inner).length) out[key] = inner;
    } else if (JSON.stringify(source?.[key]) !== JSON.stringify(value)) {
      out[key] = clone(value);
    }
  }
  return out;
}

function merge(target, changes) {
  for (const [key, value] of Object.entries(changes)) {
    if (isPlain(value) && isPlain(target[key])) merge(target[key], value);
    else target[key] = clone(value);
  }
  return target;
}

// -- document types -----------------------------------------------------------------------------------

const TYPES = {
  User: { collection: "users", defaults: () => ({ name: "User", role: 1, flags: {}, character: null }) },
  Actor: {
    collection: "actors",
    embedded: { Item: "items", ActiveEffect: "effects" },
    defaults: () => ({ name: "Actor", type: "npc", system: {}, ownership: { default: 0 }, flags: {}, items: [], effects: [] }),
  },
  Item: { defaults: () => ({ name: "Item", type: "condition", system: {}, flags: {} }) },
  ActiveEffect: { defaults: () => ({ name: "Effect", statuses: [], flags: {} }) },
  Combat: {
    collection: "combats",
    embedded: { Combatant: "combatants" },
    defaults: () => ({ round: 0, turn: 0, active: false, scene: null, flags: {}, combatants: [] }),
  },
  Combatant: {
    defaults: () => ({ name: "", actorId: null, tokenId: null, sceneId: null, initiative: null, hidden: false, defeated: false, flags: {} }),
  },
  ChatMessage: {
    collection: "messages",
    defaults: () => ({ content: "", speaker: {}, whisper: [], blind: false, rolls: [], style: 0, flavor: "", flags: {}, author: null }),
  },
  Scene: {
    collection: "scenes",
    embedded: { Token: "tokens" },
    defaults: () => ({ name: "Scene", navName: "", active: false, description: "", flags: {}, tokens: [] }),
  },
  Token: { defaults: () => ({ name: "", actorId: null, x: 0, y: 0, flags: {} }) },
  JournalEntry: { collection: "journal", embedded: { JournalEntryPage: "pages" }, defaults: () => ({ name: "Journal", flags: {}, pages: [] }) },
  JournalEntryPage: { defaults: () => ({ name: "Page", type: "text", text: {}, flags: {} }) },
};

/** Which document type an embedded collection field holds, for each parent type. */
function embeddedFields(type) {
  return TYPES[type].embedded ?? {};
}

// -- the world: Foundry's server ------------------------------------------------------------------------

export class FakeWorld {
  /** system: "pf2e" (conditions are items, PF2e's API) or "core" (status effects only). */
  constructor({ id = "everturn-test", system = "pf2e", seed = 7 } = {}) {
    this.id = id;
    this.system = system;
    this.clients = [];
    this.sources = Object.fromEntries(Object.keys(TYPES).filter((t) => TYPES[t].collection).map((t) => [t, new Map()]));
    this.settings = new Map();
    this.time = 1_767_225_600_000;
    this.random = seed;
    this.shown = []; // journals shown to the players: {document, force, by}
    this.statusEffects = ["prone", "blind", "dead", "frightened", "poisoned"];
    this.conditions = { frightened: true, sickened: true, clumsy: true, prone: false, "off-guard": false, dying: true };
  }

  randomId() {
    let id = "";
    for (let i = 0; i < 16; i++) {
      this.random = (Math.imul(this.random, 1103515245) + 12345) >>> 0;
      id += ALPHANUMERIC[(this.random >>> 16) % ALPHANUMERIC.length];
    }
    return id;
  }

  tick() {
    this.time += 1000;
    return this.time;
  }

  /** A document in the world before anyone connects (no hooks): returns its id. */
  add(type, data) {
    const source = this.sourceOf(type, data);
    this.sources[type].set(source._id, source);
    for (const client of this.clients) client.adopt(type, source);
    return source._id;
  }

  addUser(name, { gm = false, flags = {} } = {}) {
    return this.add("User", { name, role: gm ? GM_ROLE : 1, flags });
  }

  sourceOf(type, data, parentType = null) {
    const time = this.tick();
    const source = { ...TYPES[type].defaults(), ...clone(data), _id: data._id ?? this.randomId() };
    source._stats = { createdTime: time, modifiedTime: time };
    for (const [embeddedType, field] of Object.entries(embeddedFields(type))) {
      source[field] = (source[field] ?? []).map((child) => this.sourceOf(embeddedType, child, type));
    }
    return source;
  }

  /** A browser of `userName`'s, connected to this world. */
  client(userName) {
    const user = [...this.sources.User.values()].find((u) => u.name === userName);
    if (!user) throw new Error(`no user ${userName}`);
    const client = new FakeClient(this, user._id);
    this.clients.push(client);
    return client;
  }

  /** Where a document's source lives: a top-level collection, or its parent's embedded array. */
  sourceList(type, parent) {
    if (!parent) return this.sources[type];
    const parentSource = this.sources[parent.type].get(parent.id);
    if (!parentSource) throw new Error(`${parent.type} ${parent.id} does not exist`);
    const field = embeddedFields(parent.type)[type];
    const array = parentSource[field];
    return { // the array, as the Map the top level is
      get: (id) => array.find((s) => s._id === id),
      set: (id, source) => array.push(source),
      delete: (id) => array.splice(array.findIndex((s) => s._id === id), 1),
    };
  }

  async createDocuments(type, datas, options, by, parent = null) {
    await Promise.resolve(); // the round trip to the server
    const sources = datas.map((data) => this.sourceOf(type, data));
    const list = this.sourceList(type, parent);
    for (const source of sources) list.set(source._id, source);
    return this.broadcast(by, (client) => sources.map((source) => {
      const doc = client.adopt(type, source, parent);
      client.Hooks.callAll(`create${type}`, doc, clone(options), by.userId);
      return doc;
    }));
  }

  async updateDocuments(type, updates, options, by, parent = null) {
    await Promise.resolve();
    const list = this.sourceList(type, parent);
    const applied = [];
    for (const { _id, ...changes } of updates) {
      const source = list.get(_id);
      if (!source) throw new Error(`${type} ${_id} does not exist`);
      const changed = diff(source, expandObject(changes));
      if (!Object.keys(changed).length) continue; // nothing differs: no update, no hook
      changed._stats = { modifiedTime: this.tick() };
      merge(source, changed);
      applied.push({ _id, changed: { ...changed, _id } });
    }
    return this.broadcast(by, (client) => applied.map(({ _id, changed }) => {
      const doc = client.find(type, _id, parent);
      doc._apply(changed);
      client.Hooks.callAll(`update${type}`, doc, clone(changed), clone(options), by.userId);
      return doc;
    }));
  }

  async deleteDocuments(type, ids, options, by, parent = null) {
    await Promise.resolve();
    const list = this.sourceList(type, parent);
    for (const id of ids) {
      if (!list.get(id)) throw new Error(`${type} ${id} does not exist`);
      list.delete(id);
    }
    return this.broadcast(by, (client) => ids.map((id) => {
      const doc = client.forget(type, id, parent);
      client.Hooks.callAll(`delete${type}`, doc, clone(options), by.userId);
      return doc;
    }));
  }

  /** Calls `each` in every client, the acting one (`by`) last; answers with its documents. */
  broadcast(by, each) {
    for (const client of this.clients) if (client !== by) each(client);
    return each(by);
  }

  async setSetting(key, value) {
    this.settings.set(key, clone(value));
    for (const client of this.clients) client.settings.changed(key, value);
  }
}

// -- a browser ------------------------------------------------------------------------------------------

export class FakeClient {
  constructor(world, userId) {
    this.world = world;
    this.userId = userId;
    this.Hooks = new FakeHooks();
    this.notifications = [];
    this.collections = {};
    for (const [type, { collection }] of Object.entries(TYPES)) {
      if (collection) this.collections[type] = new Collection();
    }
    for (const type of Object.keys(this.collections)) {
      for (const source of world.sources[type].values()) this.adopt(type, source);
    }
    this.settings = new FakeSettings(this);
    this.game = this.makeGame();
    this.ui = { notifications: this.makeNotifications() };
    const client = this;
    this.ChatMessage = {
      create: async (data, options = {}) =>
        (await world.createDocuments("ChatMessage", [{ author: client.userId, ...data }], options, client))[0],
    };
    this.Combat = {
      create: async (data, options = {}) => (await world.createDocuments("Combat", [data], options, client))[0],
    };
    this.Journal = {
      show: async (doc, { force = false, users = [] } = {}) => {
        world.shown.push({ document: doc.id, parent: doc.parent?.id ?? null, force, users, by: client.userId });
        return doc;
      },
    };
    this.CONST = { CHAT_MESSAGE_STYLES: { OTHER: 0, OOC: 1, IC: 2, EMOTE: 3 }, DOCUMENT_OWNERSHIP_LEVELS: { OWNER } };
  }

  get user() {
    return this.collections.User.get(this.userId);
  }

  makeGame() {
    const client = this;
    const world = this.world;
    const scenes = this.collections.Scene;
    Object.defineProperty(scenes, "active", { get: () => scenes.find((s) => s.active) ?? null });
    Object.defineProperty(scenes, "viewed", { get: () => scenes.find((s) => s.active) ?? null });
    const game = {
      world: { id: world.id },
      system: { id: world.system === "pf2e" ? "pf2e" : "worldbuilding" },
      get user() { return client.user; },
      users: this.collections.User,
      actors: this.collections.Actor,
      combats: this.collections.Combat,
      messages: this.collections.ChatMessage,
      scenes,
      journal: this.collections.JournalEntry,
      get combat() { return client.collections.Combat.find((c) => c.active) ?? null; },
      settings: this.settings,
      modules: new Map([["everturn-bridge", { id: "everturn-bridge", active: true }]]),
    };
    if (world.system === "pf2e") {
      game.pf2e = {
        ConditionManager: {
          getCondition: (slug) => (slug in world.conditions ? { toObject: () => conditionSource(world, slug, 1) } : undefined),
        },
      };
    }
    return game;
  }

  makeNotifications() {
    const say = (level) => (message) => {
      this.notifications.push({ level, message });
      return message;
    };
    return { info: say("info"), warn: say("warn"), error: say("error") };
  }

  /** What the module's main.js reads off Foundry's globals, for this browser. */
  get foundry() {
    return {
      Hooks: this.Hooks, game: this.game, ui: this.ui, CONST: this.CONST, ChatMessage: this.ChatMessage,
      Combat: this.Combat, Journal: this.Journal,
    };
  }

  get hookErrors() {
    return this.Hooks.errors;
  }

  // -- this browser's copies of the world's documents -----------------------------------------------

  adopt(type, source, parent = null) {
    const Class = CLASSES[type === "Actor" && this.world.system === "pf2e" ? "Pf2eActor" : type] ?? FakeDocument;
    if (!parent) {
      const doc = new Class(type, source, this, null);
      this.collections[type].set(doc.id, doc);
      return doc;
    }
    const parentDoc = this.find(parent.type, parent.id);
    const doc = new Class(type, source, this, parentDoc);
    parentDoc[embeddedFields(parent.type)[type]].set(doc.id, doc);
    return doc;
  }

  find(type, id, parent = null) {
    if (!parent) return this.collections[type].get(id);
    return this.find(parent.type, parent.id)[embeddedFields(parent.type)[type]].get(id);
  }

  forget(type, id, parent = null) {
    const collection = parent ? this.find(parent.type, parent.id)[embeddedFields(parent.type)[type]] : this.collections[type];
    const doc = collection.get(id);
    collection.delete(id);
    return doc;
  }
}

/** game.settings: world settings live in the world (shared), client ones in this browser. */
class FakeSettings {
  constructor(client) {
    this.client = client;
    this.registry = new Map();
    this.local = new Map();
  }

  register(namespace, key, config) {
    this.registry.set(`${namespace}.${key}`, config);
  }

  config(namespace, key) {
    const config = this.registry.get(`${namespace}.${key}`);
    if (!config) throw new Error(`"${namespace}.${key}" is not a registered game setting`);
    return config;
  }

  get(namespace, key) {
    const config = this.config(namespace, key);
    const store = config.scope === "world" ? this.client.world.settings : this.local;
    const name = `${namespace}.${key}`;
    return clone(store.has(name) ? store.get(name) : config.default);
  }

  async set(namespace, key, value) {
    const config = this.config(namespace, key);
    const name = `${namespace}.${key}`;
    if (config.scope === "world") {
      if (!this.client.user.isGM) throw new Error(`${this.client.user.name} may not change world setting ${name}`);
      await Promise.resolve();
      await this.client.world.setSetting(name, value);
    } else {
      this.local.set(name, clone(value));
      config.onChange?.(clone(value));
    }
    return value;
  }

  changed(name, value) {
    this.registry.get(name)?.onChange?.(clone(value));
  }
}

// -- documents ------------------------------------------------------------------------------------------

class FakeDocument {
  constructor(type, source, client, parent) {
    Object.defineProperty(this, "documentName", { value: type });
    Object.defineProperty(this, "client", { value: client });
    Object.defineProperty(this, "parent", { value: parent });
    Object.defineProperty(this, "_source", { value: {}, writable: true });
    this._apply(clone(source));
  }

  get id() {
    return this._source._id;
  }

  get ref() {
    return this.parent ? { type: this.parent.documentName, id: this.parent.id } : null;
  }

  /** Takes the server's change: data fields become own properties, embedded ones collections. */
  _apply(changed) {
    merge(this._source, changed);
    const embedded = embeddedFields(this.documentName);
    const fields = Object.values(embedded);
    for (const key of Object.keys(changed)) {
      if (fields.includes(key) || hasAccessor(this, key)) continue;
      this[key] = clone(this._source[key]);
    }
    for (const [embeddedType, field] of Object.entries(embedded)) {
      if (this[field]) continue;
      this[field] = new Collection();
      for (const child of this._source[field] ?? []) {
        const Class = CLASSES[embeddedType] ?? FakeDocument;
        const doc = new Class(embeddedType, child, this.client, this);
        this[field].set(doc.id, doc);
      }
    }
  }

  update(changes, options = {}) {
    return this.client.world.updateDocuments(this.documentName, [{ _id: this.id, ...changes }], options,
      this.client, this.ref).then((docs) => docs[0]);
  }

  async delete(options = {}) {
    await this.client.world.deleteDocuments(this.documentName, [this.id], options, this.client, this.ref);
    return this;
  }

  createEmbeddedDocuments(type, datas, options = {}) {
    return this.client.world.createDocuments(type, datas, options, this.client,
      { type: this.documentName, id: this.id });
  }

  updateEmbeddedDocuments(type, updates, options = {}) {
    return this.client.world.updateDocuments(type, updates, options, this.client,
      { type: this.documentName, id: this.id });
  }

  deleteEmbeddedDocuments(type, ids, options = {}) {
    return this.client.world.deleteDocuments(type, ids, options, this.client,
      { type: this.documentName, id: this.id });
  }

  getFlag(scope, key) {
    return this.flags?.[scope]?.[key];
  }

  toObject() {
    return clone(this._source);
  }
}

function hasAccessor(object, key) {
  for (let proto = Object.getPrototypeOf(object); proto; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor) return Boolean(descriptor.get);
  }
  return false;
}

class FakeUser extends FakeDocument {
  get isGM() {
    return this.role >= 3; // ASSISTANT and GAMEMASTER
  }

  get character() {
    return this.client.collections.Actor.get(this._source.character) ?? null;
  }
}

class FakeActor extends FakeDocument {
  get isToken() {
    return false;
  }

  get statuses() {
    return new Set([...this.effects.values()].flatMap((effect) => effect.statuses ?? []));
  }

  testUserPermission(user, level) {
    if (user.isGM) return true;
    const needed = typeof level === "number" ? level : OWNER;
    return (this.ownership[user.id] ?? this.ownership.default ?? 0) >= needed;
  }

  async getTokenDocument(data = {}) {
    const source = { name: this.name, actorId: this.id, ...data };
    return { toObject: () => clone(source) };
  }

  /** Foundry's status effects (the conditions of systems other than PF2e). */
  async toggleStatusEffect(statusId, { active } = {}) {
    if (!this.client.world.statusEffects.includes(statusId)) {
      throw new Error(`Invalid status ID "${statusId}" provided to Actor#toggleStatusEffect`);
    }
    const existing = [...this.effects.values()].filter((effect) => effect.statuses.includes(statusId));
    const on = active ?? !existing.length;
    if (on && !existing.length) {
      return (await this.createEmbeddedDocuments("ActiveEffect", [{ name: statusId, statuses: [statusId] }]))[0];
    }
    if (!on && existing.length) await this.deleteEmbeddedDocuments("ActiveEffect", existing.map((e) => e.id));
    return on;
  }
}

/** A PF2e actor: conditions are items; increaseCondition adds to one already there. */
class FakePf2eActor extends FakeActor {
  getCondition(slug) {
    const held = [...this.items.values()].filter((item) => item.type === "condition" && item.slug === slug);
    return held.sort((a, b) => (b.value ?? 0) - (a.value ?? 0))[0] ?? null;
  }

  async increaseCondition(slug, { max = Number.MAX_SAFE_INTEGER, value } = {}) {
    const existing = this.getCondition(slug);
    if (existing) {
      if (existing.value === null) return null;
      const next = Math.min(Math.max(existing.value + (value ?? 1), 1), max);
      await this.updateEmbeddedDocuments("Item", [{ _id: existing.id, "system.value.value": next }]);
      return existing;
    }
    const source = this.client.game.pf2e.ConditionManager.getCondition(slug).toObject(); // throws when unknown, as PF2e
    if (typeof source.system.value.value === "number") source.system.value.value = Math.min(Math.max(value ?? 1, 1), max);
    return (await this.createEmbeddedDocuments("Item", [source]))[0];
  }

  async decreaseCondition(slug, { forceRemove = false } = {}) {
    const condition = this.getCondition(slug);
    if (!condition) return;
    const next = typeof condition.value === "number" ? Math.max(condition.value - 1, 0) : null;
    if (next !== null && next > 0 && !forceRemove) {
      await this.updateEmbeddedDocuments("Item", [{ _id: condition.id, "system.value.value": next }]);
    } else {
      await this.deleteEmbeddedDocuments("Item", [condition.id]);
    }
  }
}

function conditionSource(world, slug, value) {
  return { name: slug, type: "condition", system: { slug, value: { value: world.conditions[slug] ? value : null } } };
}

class FakeItem extends FakeDocument {
  get slug() {
    return this.system?.slug ?? null;
  }

  get value() {
    return this.system?.value?.value ?? null;
  }
}

class FakeCombat extends FakeDocument {
  get started() {
    return this.round > 0;
  }

  /** The turn order: initiative, highest first; those without one last. */
  get turns() {
    return [...this.combatants.values()].sort((a, b) =>
      (b.initiative ?? -Infinity) - (a.initiative ?? -Infinity) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  get combatant() {
    return this.turns[this.turn] ?? null;
  }

  async startCombat() {
    const updateData = { round: 1, turn: 0 };
    this.client.Hooks.callAll("combatStart", this, updateData); // only here, before the update, as Foundry
    return this.update(updateData);
  }

  async nextTurn() {
    const next = this.turn + 1;
    return next >= this.turns.length ? this.update({ round: this.round + 1, turn: 0 }) : this.update({ turn: next });
  }

  async endCombat() {
    throw new Error("Combat#endCombat asks the GM to confirm in a dialog; nobody answers it in a test");
  }
}

class FakeCombatant extends FakeDocument {
  get actor() {
    return this.client.collections.Actor.get(this.actorId) ?? null;
  }

  get combat() {
    return this.parent;
  }
}

class FakeChatMessage extends FakeDocument {
  get author() {
    return this.client.collections.User.get(this._source.author) ?? null;
  }

  get isRoll() {
    return this.rolls.length > 0;
  }

  /** As Foundry's ChatMessage#alias: the speaker's alias, else its actor's name, else the author's. */
  get alias() {
    const actor = this.client.collections.Actor.get(this.speaker?.actor);
    return this.speaker?.alias ?? actor?.name ?? this.author?.name;
  }
}

class FakeScene extends FakeDocument {
  async activate() {
    return this.update({ active: true });
  }
}

class FakeJournalEntry extends FakeDocument {
  async show(force = false) {
    this.client.world.shown.push({ document: this.id, parent: null, force, users: [], by: this.client.userId });
    return this;
  }
}

const CLASSES = {
  User: FakeUser,
  Actor: FakeActor,
  Pf2eActor: FakePf2eActor,
  Item: FakeItem,
  Combat: FakeCombat,
  Combatant: FakeCombatant,
  ChatMessage: FakeChatMessage,
  Scene: FakeScene,
  JournalEntry: FakeJournalEntry,
};

/** A Roll as a chat message holds it: the formula and each die's faces in order. */
export function rollOf(formula, faces) {
  const dice = [];
  let at = 0;
  for (const [, count, size] of formula.matchAll(/(\d*)d(\d+)/g)) {
    const number = Number(count || 1);
    dice.push({ number, faces: Number(size), results: faces.slice(at, at + number).map((result) => ({ result, active: true })) });
    at += number;
  }
  return { formula, dice, total: null };
}

// Foundry glue: the module's settings, starting the bridge in a GM's browser, and the hooks
// forwarded to it. Everything else is in modules that take Foundry as arguments (bridge.js,
// commands.js, events.js, transport.js), so tests run them against a fake.

import { Bridge, DoneCommands } from "./bridge.js";
import { realClock } from "./clock.js";
import { carryOut } from "./commands.js";
import { HOOKS, Witness } from "./events.js";
import { MODULE_ID } from "./players.js";
import { transportFor } from "./transport.js";

const CONNECTION = ["serverUrl", "token", "campaign", "transport"];
const KEEP_DONE = 1000;

/** Foundry's globals, read when used: `game` is not the Game yet when this file loads. */
const FOUNDRY = {
  get Hooks() { return globalThis.Hooks; },
  get game() { return globalThis.game; },
  get ui() { return globalThis.ui; },
  get CONST() { return globalThis.CONST; },
  get ChatMessage() { return globalThis.ChatMessage; },
  get Combat() { return globalThis.Combat; },
  get Journal() { return globalThis.foundry?.documents?.collections?.Journal ?? globalThis.Journal; },
  get fetch() { return globalThis.fetch?.bind(globalThis); },
  get WebSocket() { return globalThis.WebSocket; },
  get randomId() { return globalThis.foundry?.utils?.randomID; },
};

/** The module in one browser: its settings, its bridge (GMs only), the hooks it listens to. */
export class EverturnModule {
  /**
   * `foundry`: {Hooks, game, ui, CONST?, ChatMessage, Combat, Journal?, fetch?, WebSocket?} as Foundry
   * has them, plus for tests: clock, log, randomId, makeTransport(choice, options).
   */
  constructor(foundry) {
    this.foundry = foundry;
    this.bridge = null;
    this.witness = null;
    this.restarting = null;
  }

  get clock() {
    return this.foundry.clock ?? realClock;
  }

  get log() {
    return this.foundry.log ?? console;
  }

  /** Registers the hooks: init (settings), ready (start), and the document hooks. */
  install() {
    const { Hooks } = this.foundry;
    Hooks.once("init", () => this.registerSettings());
    Hooks.once("ready", () => {
      const entry = this.foundry.game.modules?.get?.(MODULE_ID);
      if (entry) entry.api = this; // Foundry's place for a module's API: game.modules.get(id).api
      this.start();
    });
    for (const hook of HOOKS) Hooks.on(hook, (...args) => this.observe(hook, args));
    return this;
  }

  registerSettings() {
    const { settings } = this.foundry.game;
    const restart = () => this.restartSoon();
    const connection = (key, extra = {}) => settings.register(MODULE_ID, key, {
      name: `EVERTURN.Settings.${key}.Name`,
      hint: `EVERTURN.Settings.${key}.Hint`,
      scope: "world",
      config: true,
      restricted: true,
      type: String,
      default: "",
      onChange: restart,
      ...extra,
    });
    connection("serverUrl");
    connection("token");
    connection("campaign");
    connection("transport", {
      default: "auto",
      choices: {
        auto: "EVERTURN.Settings.transport.Auto",
        websocket: "EVERTURN.Settings.transport.Websocket",
        "long-poll": "EVERTURN.Settings.transport.LongPoll",
      },
    });
    // The commands carried out: a world setting, so the GM's browser that takes over knows them too.
    settings.register(MODULE_ID, "doneCommands", { scope: "world", config: false, type: Array, default: [] });
    settings.register(MODULE_ID, "instance", { scope: "client", config: false, type: String, default: "" });
  }

  setting(key) {
    return this.foundry.game.settings.get(MODULE_ID, key);
  }

  /** Starts the bridge in a GM's browser whose settings are filled in; others do nothing. */
  start() {
    const { game } = this.foundry;
    if (!game.user?.isGM) return;
    const [serverUrl, token, campaign, transport] = CONNECTION.map((key) => String(this.setting(key) ?? "").trim());
    if (!serverUrl || !token || !campaign) {
      this.notify("warn", "fill in Server URL, Bridge token and Campaign in the module settings to connect.");
      return;
    }
    if (!/^https?:\/\/[^/]/i.test(serverUrl)) {
      this.notify("error", `the Server URL must start with http:// or https:// (it is "${serverUrl}").`);
      return;
    }
    const witness = new Witness(this.foundry);
    this.witness = witness;
    const options = {
      serverUrl, token, campaign, world: game.world.id, instance: this.instance(),
      fetch: this.foundry.fetch, WebSocket: this.foundry.WebSocket, clock: this.clock, log: this.log,
    };
    const make = this.foundry.makeTransport ?? transportFor;
    this.bridge = new Bridge({
      transport: make(transport || "auto", options),
      carryOut: (command) => carryOut(command, {
        game, ChatMessage: this.foundry.ChatMessage, Combat: this.foundry.Combat, Journal: this.foundry.Journal,
        quietly: (actor, work) => witness.quietly(actor, work),
      }),
      done: new DoneCommands({
        load: () => this.setting("doneCommands"),
        save: (ids) => game.settings.set(MODULE_ID, "doneCommands", ids),
        keep: KEEP_DONE,
      }),
      clock: this.clock,
      log: this.log,
      notify: (level, text) => this.notify(level, text),
    });
    this.bridge.start();
  }

  stop() {
    this.bridge?.stop();
    this.bridge = null;
    this.witness = null;
  }

  /** After the GM saves the settings (one onChange per setting): one restart, with what was unsent. */
  restartSoon() {
    if (this.restarting !== null || !this.foundry.game.user?.isGM) return;
    this.restarting = this.clock.setTimeout(() => {
      this.restarting = null;
      const unsent = this.bridge?.unsent() ?? [];
      this.stop();
      this.start();
      if (unsent.length) this.bridge?.record(unsent);
    }, 0);
  }

  /** This browser's instance id: made once, kept in the browser (a client setting). */
  instance() {
    let instance = this.setting("instance");
    if (!instance) {
      const random = this.foundry.randomId?.(16)
        ?? globalThis.crypto?.randomUUID?.().replace(/-/g, "").slice(0, 16)
        ?? Math.random().toString(36).slice(2, 18);
      instance = `gm-${random}`;
      Promise.resolve(this.foundry.game.settings.set(MODULE_ID, "instance", instance))
        .catch((error) => this.log.warn("Everturn bridge: could not keep this browser's instance id", error));
    }
    return instance;
  }

  /** A hook's events to the bridge; a mistake of ours never breaks Foundry's hook. */
  observe(hook, args) {
    if (!this.bridge || !this.witness) return;
    try {
      const events = this.witness.observe(hook, args);
      if (events.length) this.bridge.record(events);
    } catch (error) {
      this.log.error(`Everturn bridge: the ${hook} hook could not be read`, error);
    }
  }

  notify(level, text) {
    this.foundry.ui?.notifications?.[level]?.(`Everturn bridge: ${text}`, { permanent: level === "error" });
  }

  status() {
    return this.bridge?.status() ?? null;
  }
}

/** Installs the module on `foundry` (Foundry's globals by default); tests pass a fake browser's. */
export function install(foundry = FOUNDRY) {
  return new EverturnModule(foundry).install();
}

// In Foundry (and in the e2e driver, which sets up the same globals) this file is the entry point.
if (globalThis.Hooks && typeof globalThis.Hooks.once === "function") install();

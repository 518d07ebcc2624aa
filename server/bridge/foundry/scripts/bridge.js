// The bridge of one GM's browser: what it sends Everturn and what it carries out for it
// (docs/bridge.md, "The Foundry module"). No Foundry globals here: the transport, the way commands
// are carried out, the done-set's storage and the clock are given to it.
//
// Events. Every GM's browser makes the same events from the same hooks (events.js); only the
// world's emitter's are taken. An event waits in the outbox until the server answers it
// (applied, refused, or ignored by an emitter), across reconnects, and is sent again with its id:
// the server applies an id once. A browser that is not the emitter holds its events for 30 s
// instead, and sends them if it becomes the emitter within that time: the hook that fired while
// the old emitter died is then not lost.
//
// Commands. Carried out one at a time in the order given, each within 10 s; whatever happens
// (done, failed, hung) it is acked and the next one goes: one command never stalls the others or
// the connection. The ids of those done are kept (the world's setting, shared by its GMs), so a
// command delivered twice, here or to the next emitter, is done once and acked again.

import { within } from "./clock.js";

export const COMMAND_TIMEOUT_MS = 10_000;
export const HOLD_MS = 30_000;
const EVENTS_PER_EMIT = 100; // the server's limit
const EMIT_CHARS = 200_000; // under the websocket's 256 KiB frame limit
const ACKS_PER_REQUEST = 500;
const REASON_MAX = 500;
const RETRY_MS = [1000, 2000, 4000, 8000, 16000, 30000];

/** The ids of the commands carried out: the last `keep`, stored where every GM's browser reads them. */
export class DoneCommands {
  /** `load()` -> the stored ids (read each time: another GM's browser may have added some); `save(ids)`. */
  constructor({ load = () => [], save = async () => {}, keep = 1000 } = {}) {
    this.load = () => {
      const ids = load();
      return Array.isArray(ids) ? ids : [];
    };
    this.save = save;
    this.keep = keep;
    this.ids = this.load().slice(-keep);
  }

  has(id) {
    return this.ids.includes(id) || this.load().includes(id);
  }

  async add(id) {
    const ids = [...new Set([...this.load(), ...this.ids, id])].slice(-this.keep);
    this.ids = ids;
    await this.save(ids);
  }

  get size() {
    return new Set([...this.load(), ...this.ids]).size;
  }
}

/** A bounded set: the last `keep` ids added. */
class RecentIds {
  constructor(keep = 1000) {
    this.keep = keep;
    this.ids = new Set();
  }

  has(id) {
    return this.ids.has(id);
  }

  add(id) {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.keep) this.ids.delete(this.ids.values().next().value);
  }
}

class TimedOut extends Error {}

export class Bridge {
  /**
   * transport: see transport.js; carryOut(command) -> Promise; done: DoneCommands; clock: clock.js's;
   * notify(level, text): what the GM must see (ui.notifications).
   */
  constructor({ transport, carryOut, done = new DoneCommands(), clock, log = console, notify = () => {},
    commandTimeoutMs = COMMAND_TIMEOUT_MS, holdMs = HOLD_MS }) {
    Object.assign(this, { transport, carryOut, done, clock, log, notify, commandTimeoutMs, holdMs });
    this.connected = false;
    this.emitter = null; // unknown until the server says; a dropped emitter stays one until told otherwise
    this.stopped = false;
    this.fatal = null;
    this.outbox = new Map(); // event id -> {event, heldSince: null (to send) | ms (held, not the emitter)}
    this.answered = new RecentIds(); // a hook seen twice (combatStart, then updateCombat) is sent once
    this.queue = []; // commands to carry out, in order
    this.waiting = new Set(); // ids queued or being carried out
    this.gaveUp = new Map(); // id -> reason, for commands that timed out: delivered again, failed again
    this.acks = [];
    this.busy = { flushing: false, working: false, acking: false };
    this.retries = { flush: null, acks: null };
    this.failures = { flush: 0, acks: 0 };
    this.idleWaiters = [];
  }

  start() {
    this.transport.start({
      connected: (connected) => this.onConnected(connected),
      emitter: (emitter) => this.onEmitter(emitter),
      commands: (commands) => this.onCommands(commands),
      fatal: (message) => this.onFatal(message),
    });
  }

  stop() {
    this.stopped = true;
    this.connected = false;
    this.transport.stop();
    for (const kind of Object.keys(this.retries)) this.clock.clearTimeout(this.retries[kind]);
  }

  // -- events -----------------------------------------------------------------------------------

  /** Events made from a hook: sent now if this browser is the emitter, else held. */
  record(events) {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const event of events) {
      if (this.outbox.has(event.id) || this.answered.has(event.id)) continue;
      this.outbox.set(event.id, { event, heldSince: this.emitter === false ? now : null });
    }
    this.prune();
    this.flush();
  }

  /** Events not yet answered, in order (a restarted bridge takes them over). */
  unsent() {
    this.prune();
    return [...this.outbox.values()].map((entry) => entry.event);
  }

  prune() {
    const now = this.clock.now();
    for (const [id, entry] of this.outbox) {
      if (entry.heldSince !== null && now - entry.heldSince >= this.holdMs) this.outbox.delete(id);
    }
  }

  async flush() {
    if (this.busy.flushing || this.stopped || !this.connected || this.emitter !== true) return;
    this.busy.flushing = true;
    try {
      while (!this.stopped && this.connected && this.emitter === true) {
        const batch = this.nextBatch();
        if (!batch.length) break;
        let answer;
        try {
          answer = await this.transport.emit(batch);
          this.failures.flush = 0;
        } catch (error) {
          if (error.kind === "rejected") { // never taken, whatever we do: said, not retried forever
            this.log.error(`Everturn bridge: ${error.message}; ${batch.length} event(s) dropped`, batch);
            for (const event of batch) this.outbox.delete(event.id);
            continue;
          }
          this.log.warn(`Everturn bridge: sending events failed (${error.message})`);
          this.retryLater("flush", () => this.flush(), error.retryAfterS);
          break;
        }
        this.answer(answer);
      }
    } finally {
      this.busy.flushing = false;
      this.settled();
    }
  }

  nextBatch() {
    const batch = [];
    let chars = 0;
    for (const { event, heldSince } of this.outbox.values()) {
      if (heldSince !== null) continue;
      chars += JSON.stringify(event).length;
      if (batch.length && (batch.length >= EVENTS_PER_EMIT || chars > EMIT_CHARS)) break;
      batch.push(event);
    }
    return batch;
  }

  answer({ emitter, items }) {
    if (emitter === false) { // all ignored: another browser speaks for the world now
      this.onEmitter(false);
      return;
    }
    for (const item of items ?? []) {
      const entry = this.outbox.get(item.id);
      if (!entry) continue;
      this.outbox.delete(item.id);
      this.answered.add(item.id);
      if (item.status === "refused") {
        this.log.warn(`Everturn bridge: Everturn refused ${entry.event.type} ${item.id} (${item.code}: ${item.message})`);
      }
    }
  }

  // -- the connection -----------------------------------------------------------------------------

  onConnected(connected) {
    this.connected = connected && !this.stopped;
    if (this.connected) {
      this.flush();
      this.sendAcks();
    }
    this.settled();
  }

  onEmitter(emitter) {
    if (emitter === this.emitter) return;
    this.emitter = emitter;
    this.prune();
    const now = this.clock.now();
    for (const entry of this.outbox.values()) {
      if (emitter) entry.heldSince = null;
      else if (entry.heldSince === null) entry.heldSince = now;
    }
    if (emitter) this.flush();
    this.settled();
  }

  onFatal(message) {
    this.fatal = message;
    this.stop();
    this.notify("error", message);
    this.settled();
  }

  /** `again` after a backoff (or the server's Retry-After), unless a retry of that kind is already due. */
  retryLater(kind, again, retryAfterS = null) {
    if (this.retries[kind] !== null || this.stopped) return;
    const backoff = RETRY_MS[Math.min(this.failures[kind]++, RETRY_MS.length - 1)];
    const ms = typeof retryAfterS === "number" ? retryAfterS * 1000 : backoff;
    this.retries[kind] = this.clock.setTimeout(() => {
      this.retries[kind] = null;
      again();
    }, ms);
  }

  // -- commands -----------------------------------------------------------------------------------

  onCommands(commands) {
    for (const command of commands) {
      if (typeof command?.id !== "string" || this.waiting.has(command.id)) continue; // its ack will come
      if (this.done.has(command.id)) {
        this.queueAck({ id: command.id, ok: true }); // done before: said again, not done again
        continue;
      }
      const reason = this.gaveUp.get(command.id);
      if (reason) {
        this.queueAck({ id: command.id, ok: false, reason });
        continue;
      }
      this.waiting.add(command.id);
      this.queue.push(command);
    }
    this.work();
  }

  async work() {
    if (this.busy.working) return;
    this.busy.working = true;
    try {
      while (this.queue.length && !this.stopped) {
        const command = this.queue.shift();
        const ack = await this.carry(command);
        this.waiting.delete(command.id);
        this.queueAck(ack);
      }
    } finally {
      this.busy.working = false;
      this.settled();
    }
  }

  /** One command carried out (or not) as its ack; never throws. */
  async carry(command) {
    const seconds = Math.round(this.commandTimeoutMs / 1000);
    try {
      await within(this.clock, this.commandTimeoutMs, Promise.resolve().then(() => this.carryOut(command)),
        () => new TimedOut(`Foundry did not finish ${command.kind} within ${seconds} s (it may still happen there)`));
    } catch (error) {
      const reason = clip(error?.message || String(error));
      if (error instanceof TimedOut) {
        this.gaveUp.set(command.id, reason);
        if (this.gaveUp.size > 1000) this.gaveUp.delete(this.gaveUp.keys().next().value);
      }
      this.log.warn(`Everturn bridge: ${command.kind} ${command.id} failed: ${reason}`);
      return { id: command.id, ok: false, reason };
    }
    try {
      await within(this.clock, this.commandTimeoutMs, this.done.add(command.id), () => new TimedOut("timed out"));
    } catch (error) { // done all the same: only a second delivery to another browser could repeat it
      this.log.warn(`Everturn bridge: could not keep ${command.id} as done (${error?.message ?? error})`);
    }
    return { id: command.id, ok: true };
  }

  queueAck(ack) {
    this.acks.push(ack);
    this.sendAcks();
  }

  async sendAcks() {
    if (this.busy.acking || this.stopped || !this.connected) return;
    this.busy.acking = true;
    try {
      while (this.acks.length && this.connected && !this.stopped) {
        const batch = this.acks.slice(0, ACKS_PER_REQUEST);
        try {
          await this.transport.ack(batch);
          this.failures.acks = 0;
        } catch (error) {
          if (error.kind !== "rejected") {
            this.log.warn(`Everturn bridge: sending acks failed (${error.message})`);
            this.retryLater("acks", () => this.sendAcks(), error.retryAfterS);
            break;
          }
          this.log.error(`Everturn bridge: ${error.message}; ${batch.length} ack(s) dropped`, batch);
        }
        this.acks.splice(0, batch.length);
      }
    } finally {
      this.busy.acking = false;
      this.settled();
    }
  }

  // -- what it stands at ----------------------------------------------------------------------------

  status() {
    this.prune();
    const held = [...this.outbox.values()].filter((entry) => entry.heldSince !== null).length;
    return {
      connected: this.connected,
      emitter: this.emitter === true,
      since: this.transport.since ?? 0,
      transport: this.transport.name,
      outbox: this.outbox.size,
      held,
      done: this.done.size,
      commands: this.queue.length + (this.busy.working ? 1 : 0),
      acks: this.acks.length,
      stopped: this.stopped,
      fatal: this.fatal,
    };
  }

  /** Connected with nothing left to send, carry out or ack. */
  isIdle() {
    this.prune();
    return this.connected && !this.outbox.size && !this.queue.length && !this.acks.length
      && !this.busy.flushing && !this.busy.working && !this.busy.acking;
  }

  /** Resolves once idle (see isIdle). */
  idle() {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  settled() {
    if (!this.idleWaiters.length || !this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function clip(text) {
  return text.length > REASON_MAX ? `${text.slice(0, REASON_MAX - 1)}…` : text;
}

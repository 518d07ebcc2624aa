// How the bridge talks to Everturn: one interface, two ways (docs/bridge.md, "Long-poll" and
// "Websocket").
//
//   transport.start(listener)   listener: {connected(bool), emitter(bool), commands([...]), fatal(text)}
//   transport.emit(events)   -> {emitter, items: [{id, status, seq, code, message}]}
//   transport.ack(acks)      -> {items}
//   transport.since             the last command seq seen: a reconnect resumes from it
//   transport.stop()
//
// Failures, as `TransportError.kind`:
//   "refused"    the server will not have this bridge (bad token, wrong campaign or world): the
//                transport stops and the GM is told; retrying a bad token forever helps nobody
//   "rejected"   the server understood this one request and will never take it (invalid data)
//   "transient"  unreachable, timed out, 5xx, 429 (with `retryAfterS`): tried again with backoff

import { sleep } from "./clock.js";

export const CLIENT = "everturn-bridge/0.1.0";
export const BACKOFF_S = [1, 2, 4, 8, 16, 30];
const OPEN = 1; // WebSocket.OPEN

export class TransportError extends Error {
  constructor(message, { kind = "transient", retryAfterS = null, code = null } = {}) {
    super(message);
    this.name = "TransportError";
    this.kind = kind;
    this.retryAfterS = retryAfterS;
    this.code = code;
  }
}

/** Seconds to wait after the `failures`-th failure in a row: 1, 2, 4, 8, 16, then 30. */
export function backoffS(failures) {
  return BACKOFF_S[Math.min(failures, BACKOFF_S.length - 1)];
}

/** The server's websocket URL: its scheme made ws/wss, its path kept, `/ws` added. */
export function websocketUrl(serverUrl) {
  const url = new URL(serverUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TransportError(`the server URL must start with http:// or https:// (not ${url.protocol})`,
      { kind: "refused" });
  }
  const scheme = url.protocol.replace(/^http/, "ws"); // http: -> ws:, https: -> wss:
  return `${scheme}//${url.host}${url.pathname.replace(/\/+$/, "")}/ws`;
}

/** The transport the `transport` setting names. */
export function transportFor(choice, options) {
  if (choice === "long-poll") return new LongPollTransport(options);
  if (choice === "websocket") return new WebSocketTransport(options);
  return new AutoTransport(options);
}

// -- long-poll --------------------------------------------------------------------------------------

export class LongPollTransport {
  /**
   * options: {serverUrl, token, campaign, world, instance, fetch, clock, log, pollTimeoutS = 25,
   * standbyPollS = 5, requestTimeoutMs = 15000}
   */
  constructor(options) {
    this.name = "long-poll";
    this.options = options;
    this.fetch = options.fetch;
    this.clock = options.clock;
    this.log = options.log ?? console;
    this.pollTimeoutS = options.pollTimeoutS ?? 25;
    // A bridge standing by learns it became the emitter only from a poll's answer: it asks more often.
    this.standbyPollS = options.standbyPollS ?? 5;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15000;
    this.since = 0;
    this.running = false;
    this.stopping = new AbortController();
    const base = options.serverUrl.replace(/\/+$/, "");
    this.base = `${base}/api/v1/campaigns/${encodeURIComponent(options.campaign)}/bridge/${encodeURIComponent(options.world)}`;
  }

  start(listener) {
    this.listener = listener;
    this.running = true;
    this.poll();
  }

  stop() {
    this.running = false;
    this.stopping.abort();
  }

  async poll() {
    let failures = 0;
    let wait = 0; // the first poll after (re)connecting is answered at once: connected, and whether emitter
    while (this.running) {
      const asked = this.clock.now();
      try {
        const answer = await this.request("GET", `/events?since=${this.since}&timeout=${wait}`, null,
          (wait * 1000) + this.requestTimeoutMs);
        if (!this.running) return;
        failures = 0;
        if (Number.isInteger(answer.since)) this.since = Math.max(this.since, answer.since);
        this.listener.connected(true);
        this.listener.emitter(Boolean(answer.emitter));
        if (answer.commands?.length) this.listener.commands(answer.commands);
        // Never a tight loop, whatever the server does with `timeout`.
        const quick = wait > 0 && !answer.commands?.length && this.clock.now() - asked < 1000;
        wait = answer.emitter ? this.pollTimeoutS : this.standbyPollS;
        if (quick) await sleep(this.clock, 1000, this.stopping.signal);
      } catch (error) {
        if (!this.running) return;
        if (error.kind === "refused" || error.kind === "rejected") {
          this.running = false;
          this.listener.fatal(error.message);
          return;
        }
        this.listener.connected(false);
        wait = 0;
        const waitS = error.retryAfterS ?? backoffS(failures++);
        this.log.warn(`Everturn bridge: ${error.message}; trying again in ${waitS} s`);
        await sleep(this.clock, waitS * 1000, this.stopping.signal);
      }
    }
  }

  emit(events) {
    return this.request("POST", "/emit", { events });
  }

  ack(acks) {
    return this.request("POST", "/acks", { acks });
  }

  async request(method, path, body, timeoutMs = this.requestTimeoutMs) {
    if (!this.running) throw new TransportError("the bridge is stopped");
    const aborted = new AbortController();
    const stop = () => aborted.abort();
    this.stopping.signal.addEventListener("abort", stop, { once: true });
    const timer = this.clock.setTimeout(stop, timeoutMs);
    try {
      let response;
      try {
        response = await this.fetch(`${this.base}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.token}`,
            "X-Bridge-Instance": this.options.instance,
            ...(body ? { "Content-Type": "application/json" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
          signal: aborted.signal,
        });
      } catch (error) {
        const why = aborted.signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : error?.message;
        throw new TransportError(`cannot reach Everturn at ${this.options.serverUrl} (${why})`);
      }
      if (response.ok) return await response.json();
      throw await httpFailure(response, this.options);
    } finally {
      this.clock.clearTimeout(timer);
      this.stopping.signal.removeEventListener("abort", stop);
    }
  }
}

/** An HTTP error answer as a TransportError, with what the GM can do about it. */
async function httpFailure(response, options) {
  const body = await response.json().catch(() => null);
  const code = body?.error?.code ?? null;
  const said = body?.error?.message ? `${code}: ${body.error.message}` : `HTTP ${response.status}`;
  if (response.status === 401) {
    return new TransportError(`Everturn refused the bridge token (${said}). Check "Bridge token" in the module `
      + "settings; the bridge has stopped.", { kind: "refused", code });
  }
  if (response.status === 403 || response.status === 404) {
    return new TransportError(`Everturn will not bridge campaign "${options.campaign}" with this token (${said}). `
      + "Check \"Campaign\" and use a token with role bridge for it; the bridge has stopped.", { kind: "refused", code });
  }
  if (response.status === 429) {
    const retryAfterS = Number(response.headers?.get?.("Retry-After")) || body?.error?.details?.retry_after || 5;
    return new TransportError(`Everturn asks the bridge to slow down (${said})`, { retryAfterS, code });
  }
  if (response.status >= 400 && response.status < 500) {
    return new TransportError(`Everturn rejected a request of the bridge (${said})`, { kind: "rejected", code });
  }
  return new TransportError(`Everturn failed (${said})`, { code });
}

// -- websocket ----------------------------------------------------------------------------------------

const REFUSALS = new Set(["auth/invalid", "auth/missing", "auth/forbidden", "bridge/forbidden", "bridge/wrong_world", "bridge/bad_world",
  "bridge/no_instance", "not_found"]);

export class WebSocketTransport {
  /**
   * options: {serverUrl, token, world, instance, WebSocket, clock, log, requestTimeoutMs = 15000,
   * silenceMs = 60000, unopened(count) -> true to give up (AutoTransport's fallback)}
   */
  constructor(options) {
    this.name = "websocket";
    this.options = options;
    this.clock = options.clock;
    this.log = options.log ?? console;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15000;
    this.silenceMs = options.silenceMs ?? 60000; // the server beats every 20 s
    this.since = 0;
    this.running = false;
    this.link = null; // {socket, opened, attached}
    this.pending = new Map(); // request id -> {resolve, reject, link, timer}
    this.requests = 0;
    this.failures = 0;
    this.unopened = 0;
    this.everOpened = false;
    this.retryAfterS = null;
    this.timers = new Set();
  }

  start(listener) {
    this.listener = listener;
    this.running = true;
    if (typeof this.options.WebSocket !== "function") {
      return this.fail("this browser has no WebSocket: set Transport to auto or long-poll; the bridge has stopped.");
    }
    this.connect();
  }

  stop() {
    this.running = false;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    const link = this.link;
    if (link?.attached) this.send(link, { type: "bridge.detach", id: this.nextId("d"), world: this.options.world });
    this.lost(link);
    try { link?.socket.close(1000); } catch { /* closing anyway */ }
  }

  emit(events) {
    return this.request({ type: "bridge.emit", world: this.options.world, events }, "e")
      .then((answer) => ({ emitter: answer.emitter, items: answer.items }));
  }

  ack(acks) {
    return this.request({ type: "bridge.ack", world: this.options.world, acks }, "k")
      .then((answer) => ({ items: answer.items }));
  }

  connect() {
    if (!this.running) return;
    const link = { socket: null, opened: false, attached: false, heardAt: this.clock.now() };
    this.link = link;
    let socket;
    try {
      socket = new this.options.WebSocket(websocketUrl(this.options.serverUrl));
    } catch (error) {
      if (error.kind === "refused") return this.fail(error.message);
      this.log.warn(`Everturn bridge: cannot open a websocket (${error.message})`);
      return this.lost(link);
    }
    link.socket = socket;
    socket.onopen = () => {
      if (link !== this.link) return;
      link.opened = true;
      this.everOpened = true;
      this.unopened = 0;
      link.heardAt = this.clock.now();
      this.send(link, { type: "hello", token: this.options.token, client: CLIENT });
    };
    socket.onmessage = (event) => this.receive(link, event.data);
    socket.onerror = () => {}; // a close follows, and says it
    socket.onclose = () => this.lost(link);
    this.watch(link);
  }

  receive(link, text) {
    if (link !== this.link) return;
    link.heardAt = this.clock.now();
    let frame;
    try {
      frame = JSON.parse(typeof text === "string" ? text : String(text));
    } catch {
      return;
    }
    const waiting = typeof frame.id === "string" ? this.pending.get(frame.id) : undefined;
    if (waiting) {
      this.pending.delete(frame.id);
      this.clock.clearTimeout(waiting.timer);
      if (frame.type === "error") waiting.reject(frameError(frame));
      else waiting.resolve(frame);
      return;
    }
    if (frame.world !== undefined && frame.world !== this.options.world) return;
    switch (frame.type) {
      case "welcome":
        this.attach(link);
        break;
      case "bridge.commands":
        if (Number.isInteger(frame.since)) this.since = Math.max(this.since, frame.since);
        if (typeof frame.emitter === "boolean") this.listener.emitter(frame.emitter);
        if (frame.commands?.length) this.listener.commands(frame.commands);
        break;
      case "bridge.emitter":
        this.listener.emitter(Boolean(frame.emitter));
        break;
      case "error":
        this.unasked(link, frame);
        break;
      default: // heartbeat, pong, and frames of the protocol we do not use
        break;
    }
  }

  async attach(link) {
    try {
      const answer = await this.request({
        type: "bridge.attach", world: this.options.world, instance: this.options.instance, since: this.since,
      }, "a", link);
      if (link !== this.link) return;
      link.attached = true;
      this.failures = 0;
      this.listener.connected(true);
      this.listener.emitter(Boolean(answer.emitter));
    } catch (error) {
      if (link !== this.link) return;
      if (error.kind === "refused") return this.fail(error.message);
      this.log.warn(`Everturn bridge: attaching failed (${error.message})`);
      this.drop(link);
    }
  }

  /** An error frame that answers nothing we asked: the hello's (it has no id), or the server's own. */
  unasked(link, frame) {
    const error = frameError(frame);
    if (error.kind === "refused") return this.fail(error.message);
    this.log.warn(`Everturn bridge: ${error.message}`);
    if (!link.attached) {
      this.retryAfterS = error.retryAfterS;
      this.drop(link);
    }
  }

  request(frame, prefix, link = this.link) {
    if (!link || !link.socket || link.socket.readyState !== OPEN || (frame.type !== "bridge.attach" && !link.attached)) {
      return Promise.reject(new TransportError("not connected to Everturn"));
    }
    const id = this.nextId(prefix);
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new TransportError(`Everturn did not answer ${frame.type} within ${this.requestTimeoutMs / 1000} s`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, link, timer });
      this.send(link, { ...frame, id });
    });
  }

  nextId(prefix) {
    this.requests += 1;
    return `${prefix}${this.requests}`;
  }

  send(link, frame) {
    try {
      link.socket.send(JSON.stringify(frame));
    } catch (error) {
      this.log.warn(`Everturn bridge: sending ${frame.type} failed (${error.message})`);
    }
  }

  /** Closes a link we gave up on; its close event then comes too late to matter. */
  drop(link) {
    this.lost(link);
    try { link.socket?.close(); } catch { /* it is gone either way */ }
  }

  /** The link is gone (closed, dropped, silent): fail its requests, then reconnect with backoff. */
  lost(link) {
    if (!link || link !== this.link) return; // an old link's late close
    this.link = null;
    for (const [id, waiting] of this.pending) {
      if (waiting.link !== link) continue;
      this.pending.delete(id);
      this.clock.clearTimeout(waiting.timer);
      waiting.reject(new TransportError("the connection to Everturn was lost"));
    }
    if (link.attached) this.listener.connected(false);
    if (!this.running) return;
    if (link.attached) this.log.warn("Everturn bridge: the connection to Everturn was lost; reconnecting");
    if (!link.opened) {
      this.unopened += 1;
      if (!this.everOpened && this.options.unopened?.(this.unopened)) return; // given up on websockets
    }
    const waitS = this.retryAfterS ?? backoffS(this.failures++);
    this.retryAfterS = null;
    this.later(waitS * 1000, () => this.connect());
  }

  /** Gives up a socket nothing has come through for a minute (a half-open connection after a crash). */
  watch(link) {
    const check = () => {
      if (link !== this.link || !this.running) return;
      if (this.clock.now() - link.heardAt >= this.silenceMs) {
        this.log.warn("Everturn bridge: nothing heard from Everturn for a minute; reconnecting");
        this.drop(link);
        return;
      }
      this.later(this.silenceMs / 3, check);
    };
    this.later(this.silenceMs / 3, check);
  }

  later(ms, fn) {
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  fail(message) {
    this.running = false;
    const link = this.link;
    if (link) this.drop(link);
    this.listener.fatal(message);
  }
}

/** A protocol error frame as a TransportError: refusals stop the bridge, the rest are tried again. */
function frameError(frame) {
  const said = `${frame.code}: ${frame.message ?? ""}`.trim();
  if (REFUSALS.has(frame.code)) {
    const hint = frame.code.startsWith("auth/") ? "Check \"Bridge token\" in the module settings"
      : "Check \"Campaign\" and use a token with role bridge for it";
    return new TransportError(`Everturn refused the bridge (${said}). ${hint}; the bridge has stopped.`,
      { kind: "refused", code: frame.code });
  }
  if (frame.code === "command/invalid" || frame.code === "bad_message" || frame.code === "json/too_deep") {
    return new TransportError(`Everturn rejected a request of the bridge (${said})`, { kind: "rejected", code: frame.code });
  }
  const retryAfterS = typeof frame.retry_after === "number" ? frame.retry_after
    : typeof frame.details?.retry_after === "number" ? frame.details.retry_after : null;
  return new TransportError(`Everturn answered ${said}`, { retryAfterS, code: frame.code });
}

// -- auto ---------------------------------------------------------------------------------------------

/** A websocket, and long-poll when one cannot be opened here (no WebSocket, or two opens failed). */
export class AutoTransport {
  constructor(options) {
    this.options = options;
    this.log = options.log ?? console;
    this.current = options.WebSocket
      ? new WebSocketTransport({ ...options, unopened: (count) => count >= 2 && this.fallBack() })
      : new LongPollTransport(options);
  }

  get name() {
    return this.current.name;
  }

  get since() {
    return this.current.since;
  }

  start(listener) {
    this.listener = listener;
    this.current.start(listener);
  }

  /** Once a websocket has worked, its failures are the server's, not the network's: no fallback then. */
  fallBack() {
    this.log.warn("Everturn bridge: a websocket cannot be opened from here; using long-poll instead");
    const since = this.current.since;
    this.current.stop();
    this.current = new LongPollTransport(this.options);
    this.current.since = since;
    this.current.start(this.listener);
    return true;
  }

  emit(events) {
    return this.current.emit(events);
  }

  ack(acks) {
    return this.current.ack(acks);
  }

  stop() {
    this.current.stop();
  }
}

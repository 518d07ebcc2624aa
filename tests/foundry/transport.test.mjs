// The two ways to Everturn, against scripted servers and a clock the test drives: what goes on the
// wire, matching answers to requests, backing off and resuming, and stopping (and saying so) when
// the token is refused.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AutoTransport, CLIENT, LongPollTransport, WebSocketTransport, websocketUrl,
} from "../../server/bridge/foundry/scripts/transport.js";
import { FakeClock, settle } from "./fake-clock.mjs";
import { browser, table } from "./table.mjs";

const quiet = { warn() {}, error() {}, info() {} };

/** A listener that writes down what the transport tells the bridge. */
function listener() {
  const heard = { connected: [], emitter: [], commands: [], fatal: [] };
  return {
    heard,
    connected: (value) => heard.connected.push(value),
    emitter: (value) => heard.emitter.push(value),
    commands: (commands) => heard.commands.push(...commands.map((c) => c.id)),
    fatal: (message) => heard.fatal.push(message),
  };
}

// -- the URL -------------------------------------------------------------------------------------

test("the websocket's URL is the server's, ws for http and wss for https, its path kept", () => {
  assert.equal(websocketUrl("http://127.0.0.1:12345"), "ws://127.0.0.1:12345/ws");
  assert.equal(websocketUrl("https://vtt.example/everturn"), "wss://vtt.example/everturn/ws");
  assert.equal(websocketUrl("https://vtt.example/everturn/"), "wss://vtt.example/everturn/ws");
  assert.equal(websocketUrl("HTTPS://Everturn.example:8443/a/b?x=1"), "wss://everturn.example:8443/a/b/ws");
  assert.throws(() => websocketUrl("ftp://everturn.example"), /must start with http/);
});

// -- websocket -----------------------------------------------------------------------------------

/** Everturn's /ws as a script: answers hello and attach, and what `answer` says to the rest. */
class ScriptedSocketServer {
  constructor(clock) {
    this.clock = clock;
    this.sockets = [];
    this.frames = []; // every frame received, across sockets
    this.failOpens = 0; // the next opens that fail
    this.emitter = true;
    this.answer = (socket, frame) => this.standard(socket, frame);
    const server = this;
    this.WebSocket = class {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        server.sockets.push(this);
        queueMicrotask(() => {
          if (server.failOpens > 0) {
            server.failOpens -= 1;
            this.shut();
          } else {
            this.readyState = 1;
            this.onopen?.({});
          }
        });
      }

      send(text) {
        if (this.readyState !== 1) throw new Error("not open");
        const frame = JSON.parse(text);
        server.frames.push(frame);
        queueMicrotask(() => server.answer(this, frame));
      }

      close() {
        this.shut();
      }

      shut() {
        if (this.readyState === 3) return;
        this.readyState = 3;
        queueMicrotask(() => this.onclose?.({ code: 1006 }));
      }

      push(frame) {
        this.onmessage?.({ data: JSON.stringify(frame) });
      }
    };
  }

  standard(socket, frame) {
    if (frame.type === "hello") socket.push({ type: "welcome", session: "s1", protocol: 1, role: "bridge" });
    if (frame.type === "bridge.attach") {
      socket.push({ type: "bridge.attached", id: frame.id, world: frame.world, emitter: this.emitter, since: frame.since });
    }
    if (frame.type === "bridge.emit") {
      socket.push({ type: "bridge.emitted", id: frame.id, world: frame.world, emitter: true,
        items: frame.events.map((e, i) => ({ id: e.id, status: "applied", seq: i + 1, code: null, message: null })) });
    }
    if (frame.type === "bridge.ack") socket.push({ type: "bridge.acked", id: frame.id, world: frame.world, items: [] });
  }

  get last() {
    return this.sockets.at(-1);
  }

  sent(type) {
    return this.frames.filter((f) => f.type === type);
  }
}

function socketTransport(clock, server, extra = {}) {
  return new WebSocketTransport({
    serverUrl: "https://vtt.example/everturn", token: "evt_bridge", campaign: "c1", world: "w1",
    instance: "gm-one", WebSocket: server.WebSocket, clock, log: quiet, ...extra,
  });
}

test("websocket: hello with the token, then attach to the world; pushed commands reach the bridge", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  const heard = listener();
  socketTransport(clock, server).start(heard);
  await settle();
  assert.equal(server.last.url, "wss://vtt.example/everturn/ws");
  assert.deepEqual(server.frames.slice(0, 2), [
    { type: "hello", token: "evt_bridge", client: CLIENT },
    { type: "bridge.attach", id: server.frames[1].id, world: "w1", instance: "gm-one", since: 0 },
  ]);
  assert.deepEqual([heard.heard.connected, heard.heard.emitter], [[true], [true]]);
  server.last.push({ type: "bridge.commands", world: "w1", emitter: true, since: 12,
    commands: [{ id: "c11", kind: "end_combat", data: {} }, { id: "c12", kind: "end_combat", data: {} }] });
  server.last.push({ type: "bridge.emitter", world: "w1", emitter: false });
  server.last.push({ type: "heartbeat", server_time: 1 });
  assert.deepEqual(heard.heard.commands, ["c11", "c12"]);
  assert.deepEqual(heard.heard.emitter, [true, true, false]);
});

test("websocket: answers are matched to requests by id, whatever their order", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  const held = [];
  server.answer = (socket, frame) => (frame.type === "bridge.emit" ? held.push(frame) : server.standard(socket, frame));
  const transport = socketTransport(clock, server);
  transport.start(listener());
  await settle();
  const one = transport.emit([{ id: "e-one", type: "chat", data: {} }]);
  const two = transport.emit([{ id: "e-two", type: "chat", data: {} }]);
  await settle();
  for (const frame of held.reverse()) {
    server.last.push({ type: "bridge.emitted", id: frame.id, world: "w1", emitter: true,
      items: [{ id: frame.events[0].id, status: "applied", seq: 1, code: null, message: null }] });
  }
  assert.equal((await one).items[0].id, "e-one");
  assert.equal((await two).items[0].id, "e-two");
});

test("websocket: a request unanswered in 15 s fails alone; the connection and the next request go on", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  let swallow = true;
  server.answer = (socket, frame) => {
    if (frame.type === "bridge.ack" && swallow) {
      swallow = false;
      return;
    }
    server.standard(socket, frame);
  };
  const transport = socketTransport(clock, server);
  transport.start(listener());
  await settle();
  const lost = transport.ack([{ id: "c1", ok: true }]);
  const failed = assert.rejects(lost, /did not answer bridge.ack within 15 s/);
  await clock.advance(15_000);
  await failed;
  assert.deepEqual(await transport.ack([{ id: "c2", ok: true }]), { items: [] });
  assert.equal(server.sockets.length, 1);
});

test("websocket: dropped, it reconnects after 1, 2, 4... s and resumes from the last since", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  const heard = listener();
  socketTransport(clock, server).start(heard);
  await settle();
  server.last.push({ type: "bridge.commands", world: "w1", emitter: true, since: 41, commands: [{ id: "c41", kind: "end_combat", data: {} }] });
  server.failOpens = 3;
  server.last.close(); // the server was killed
  await settle();
  assert.deepEqual(heard.heard.connected, [true, false]);
  const opened = () => server.sockets.length;
  await clock.advance(999);
  assert.equal(opened(), 1);
  await clock.advance(1); // 1 s
  assert.equal(opened(), 2);
  await clock.advance(2_000); // 2 s
  assert.equal(opened(), 3);
  await clock.advance(4_000); // 4 s
  assert.equal(opened(), 4);
  await clock.advance(8_000); // 8 s: this one opens
  assert.equal(opened(), 5);
  assert.deepEqual(server.sent("bridge.attach").map((f) => f.since), [0, 41]);
  assert.deepEqual(heard.heard.connected, [true, false, true]);
});

test("websocket: a refused token stops the bridge instead of retrying forever", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  server.answer = (socket, frame) => {
    if (frame.type === "hello") socket.push({ type: "error", code: "auth/invalid", message: "the token is unknown or revoked" });
  };
  const heard = listener();
  socketTransport(clock, server).start(heard);
  await settle();
  await clock.advance(300_000);
  assert.equal(server.sockets.length, 1);
  assert.equal(heard.heard.fatal.length, 1);
  assert.match(heard.heard.fatal[0], /auth\/invalid: the token is unknown or revoked\). Check "Bridge token"/);
});

test("websocket: nothing heard for a minute, it gives the socket up and reconnects", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  socketTransport(clock, server).start(listener());
  await settle();
  await clock.advance(40_000);
  server.last.push({ type: "heartbeat", server_time: 2 });
  await clock.advance(40_000);
  assert.equal(server.sockets.length, 1, "heartbeats keep it");
  await clock.advance(61_000);
  assert.equal(server.sockets.length, 2);
});

// -- long-poll ----------------------------------------------------------------------------------

/** Everturn's HTTP bridge API as a script: `events` waits (on the test's clock) unless told. */
class ScriptedHttp {
  constructor(clock) {
    this.clock = clock;
    this.requests = [];
    this.answers = []; // queued answers for the next requests: {status, body, headers}
    this.emitter = true;
    this.fetch = (url, init) => this.handle(url, init);
  }

  async handle(url, init) {
    const request = { url, method: init.method, headers: init.headers, body: init.body ? JSON.parse(init.body) : null,
      at: this.clock.now() };
    this.requests.push(request);
    const scripted = this.answers.shift();
    if (scripted?.throws) throw new TypeError(scripted.throws);
    if (scripted) return response(scripted.status ?? 200, scripted.body ?? {}, scripted.headers);
    if (request.method === "GET") { // nothing due: the server waits out the timeout
      const query = new URL(url).searchParams;
      await new Promise((resolve) => this.clock.setTimeout(resolve, Number(query.get("timeout")) * 1000));
      return response(200, { commands: [], emitter: this.emitter, since: Number(query.get("since")) });
    }
    return response(200, { emitter: true, items: [] });
  }

  at(i) {
    return this.requests[i];
  }
}

function response(status, body, headers = {}) {
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (name) => headers[name] ?? headers[name.toLowerCase()] ?? null },
    json: async () => body,
  };
}

function pollTransport(clock, http, extra = {}) {
  return new LongPollTransport({
    serverUrl: "http://127.0.0.1:8000/", token: "evt_bridge", campaign: "c1", world: "w1", instance: "gm-one",
    fetch: http.fetch, clock, log: quiet, ...extra,
  });
}

test("long-poll: asks at once, then waits 25 s a poll with its since; names itself; passes the commands on", async () => {
  const clock = new FakeClock();
  const http = new ScriptedHttp(clock);
  http.answers.push({ body: { commands: [{ id: "c3", kind: "end_combat", data: {} }], emitter: true, since: 3 } });
  const heard = listener();
  const transport = pollTransport(clock, http);
  transport.start(heard);
  await settle();
  assert.equal(http.at(0).url, "http://127.0.0.1:8000/api/v1/campaigns/c1/bridge/w1/events?since=0&timeout=0");
  assert.deepEqual(http.at(0).headers, { Authorization: "Bearer evt_bridge", "X-Bridge-Instance": "gm-one" });
  assert.equal(http.at(1).url, "http://127.0.0.1:8000/api/v1/campaigns/c1/bridge/w1/events?since=3&timeout=25");
  assert.deepEqual([heard.heard.connected, heard.heard.emitter, heard.heard.commands], [[true], [true], ["c3"]]);
  await transport.emit([{ id: "e1", type: "chat", data: { content: "hi" } }]);
  await transport.ack([{ id: "c3", ok: false, reason: "no" }]);
  assert.deepEqual(http.requests.slice(2).map((r) => [r.method, r.url.split("/w1")[1], r.body]), [
    ["POST", "/emit", { events: [{ id: "e1", type: "chat", data: { content: "hi" } }] }],
    ["POST", "/acks", { acks: [{ id: "c3", ok: false, reason: "no" }] }],
  ]);
  await clock.advance(25_000);
  assert.equal(http.requests.length, 5);
  transport.stop();
});

test("long-poll: a bridge standing by polls 5 s at a time, to take over soon after the emitter goes", async () => {
  const clock = new FakeClock();
  const http = new ScriptedHttp(clock);
  http.emitter = false;
  const heard = listener();
  pollTransport(clock, http).start(heard);
  await clock.advance(9_999);
  assert.deepEqual(http.requests.map((r) => new URL(r.url).searchParams.get("timeout")), ["0", "5", "5"]);
  http.emitter = true; // the emitter fell silent: the poll waiting now is answered so
  await clock.advance(1);
  assert.deepEqual(heard.heard.emitter, [false, false, true]);
  assert.equal(new URL(http.requests.at(-1).url).searchParams.get("timeout"), "25");
});

test("long-poll: a server that answers at once is not asked in a tight loop", async () => {
  const clock = new FakeClock();
  const http = new ScriptedHttp(clock);
  for (let i = 0; i < 10; i++) http.answers.push({ body: { commands: [], emitter: true, since: 0 } });
  pollTransport(clock, http).start(listener());
  await settle();
  assert.equal(http.requests.length, 2); // the first (timeout=0), then one that should have waited
  await clock.advance(1_000);
  assert.equal(http.requests.length, 3);
});

test("long-poll: 5xx and network failures back off 1, 2, 4 s; 429 waits its Retry-After", async () => {
  const clock = new FakeClock();
  const http = new ScriptedHttp(clock);
  http.answers.push({ status: 503, body: { error: { code: "runtime/stopped", message: "restarting" } } });
  http.answers.push({ throws: "fetch failed" });
  http.answers.push({ status: 500 });
  http.answers.push({ status: 429, headers: { "Retry-After": "7" }, body: { error: { code: "rate_limited" } } });
  const heard = listener();
  pollTransport(clock, http).start(heard);
  await clock.advance(20_000);
  const start = http.at(0).at;
  assert.deepEqual(http.requests.slice(0, 5).map((r) => r.at - start), [0, 1_000, 3_000, 7_000, 14_000]);
  assert.deepEqual(heard.heard.connected, [false, false, false, false, true]);
  assert.deepEqual(heard.heard.fatal, []);
});

test("long-poll: a 401 stops the bridge and tells the GM, once", async () => {
  const setup = table();
  const http = new ScriptedHttp(setup.clock);
  http.answers.push({ status: 401, body: { error: { code: "auth/invalid", message: "the token is unknown or revoked" } } });
  const gm = await browser(setup, "Gamemaster", {
    transport: pollTransport(setup.clock, http),
  });
  await setup.clock.advance(600_000);
  assert.equal(http.requests.length, 1);
  assert.deepEqual(gm.client.notifications.map((n) => n.level), ["error"]);
  assert.match(gm.client.notifications[0].message,
    /^Everturn bridge: Everturn refused the bridge token \(auth\/invalid: the token is unknown or revoked\)/);
  assert.equal(gm.bridge.status().stopped, true);
});

test("long-poll: a 403 (a token of another campaign) stops too", async () => {
  const clock = new FakeClock();
  const http = new ScriptedHttp(clock);
  http.answers.push({ status: 403, body: { error: { code: "bridge/forbidden", message: "bridge tokens poll and ack" } } });
  const heard = listener();
  pollTransport(clock, http).start(heard);
  await clock.advance(60_000);
  assert.equal(http.requests.length, 1);
  assert.match(heard.heard.fatal[0], /will not bridge campaign "c1"/);
});

// -- auto -----------------------------------------------------------------------------------------

test("auto: long-poll where there is no WebSocket", () => {
  const clock = new FakeClock();
  const transport = new AutoTransport({ serverUrl: "http://x", token: "t", campaign: "c", world: "w", instance: "i",
    fetch: new ScriptedHttp(clock).fetch, clock, log: quiet });
  assert.equal(transport.name, "long-poll");
});

test("auto: a websocket that fails to open twice gives way to long-poll", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  server.failOpens = 2;
  const http = new ScriptedHttp(clock);
  const transport = new AutoTransport({ serverUrl: "http://127.0.0.1:8000", token: "t", campaign: "c1", world: "w1",
    instance: "gm-one", WebSocket: server.WebSocket, fetch: http.fetch, clock, log: quiet });
  transport.start(listener());
  await settle();
  assert.equal(transport.name, "websocket");
  await clock.advance(1_000);
  assert.equal(transport.name, "long-poll");
  assert.match(http.at(0).url, /\/api\/v1\/campaigns\/c1\/bridge\/w1\/events\?since=0&timeout=0$/);
  assert.equal(server.sockets.length, 2);
});

test("auto: once a websocket has worked, the server going away is not a reason to give it up", async () => {
  const clock = new FakeClock();
  const server = new ScriptedSocketServer(clock);
  const http = new ScriptedHttp(clock);
  const transport = new AutoTransport({ serverUrl: "http://127.0.0.1:8000", token: "t", campaign: "c1", world: "w1",
    instance: "gm-one", WebSocket: server.WebSocket, fetch: http.fetch, clock, log: quiet });
  transport.start(listener());
  await settle();
  server.failOpens = 4;
  server.last.close();
  await clock.advance(60_000);
  assert.equal(transport.name, "websocket");
  assert.equal(http.requests.length, 0);
  assert.equal(server.sent("bridge.attach").length, 2);
});

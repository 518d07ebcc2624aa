"""The Node side of ``everturn bench peers``: the load driver and the Colyseus room server.

``everturn bench peers`` writes both into its cache directory (beside the ``node_modules``
it installed) on every run, so the files there always match this module.

The driver (``driver.js PLAN``) runs one workload against one target and prints one JSON
line; the same code drives all three targets, only the transport differs: raw ``ws`` with
our JSON frames for the floor and Everturn, ``@colyseus/sdk`` rooms for Colyseus.
Latencies are ``performance.now()`` deltas in the driver. Modes:

- ``rtt``: every client connects (and says hello / joins the room), then all at once each
  sends ``round_trips`` requests one after another, waiting for the answer (Everturn: a
  ``command`` and its ``ack``; floor: the echo; Colyseus: the room's answer).
- ``fanout``: ``subscribers`` connect (Everturn: ``subscribe`` to the campaign and take the
  snapshot), then a trigger connection sends ``triggers`` (+1 warm-up) triggers, one at a
  time; a sample is the time from sending a trigger to one subscriber receiving it.
- ``acked``: every client keeps ``in_flight`` requests outstanding for ``seconds`` (after a
  warm-up); answers per second and their latency.
- ``idle``: ``batches`` times: open ``connections`` more and say hello, print ``{"ready": n}``,
  and wait for a line on stdin (the bench reads the server's RSS meanwhile); then close all.
"""

DRIVER = r"""
'use strict';
const WebSocket = require('ws');
const plan = JSON.parse(process.argv[2]);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TEXT = 'the party rests at the inn';
const OPEN_AT_ONCE = 50;  // below hypercorn's listen backlog of 100

function percentile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
function summary(values) {
  const s = Float64Array.from(values).sort();
  const r = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
  return { p50_ms: r(percentile(s, 0.5)), p99_ms: r(percentile(s, 0.99)), samples: s.length };
}
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(what + ' timed out')), ms); })])
    .finally(() => clearTimeout(timer));
}

// One connection to our servers (floor or Everturn): JSON frames, answers matched by id.
class Json {
  constructor(ws) {
    this.ws = ws; this.waiting = new Map(); this.listener = null;
    ws.on('message', (data) => {
      const at = now();
      const raw = data.toString();
      if (this.listener && this.listener(raw, at)) return;
      const frame = JSON.parse(raw);
      if (frame.type === 'heartbeat') return;  // the server's keep-alive, sent to a connection quiet for a while
      const w = frame.id !== undefined && this.waiting.get(frame.id);
      if (w) { this.waiting.delete(frame.id); w(frame, at); }
      else if (this.next) { const n = this.next; this.next = null; n(frame, at); }
    });
  }
  static open(url, token, greet) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 20 });
      ws.on('error', reject);
      ws.on('open', () => {
        const c = new Json(ws);
        c.next = (frame) => (frame.type === 'error' ? reject(new Error('hello: ' + JSON.stringify(frame))) : resolve(c));
        ws.send(JSON.stringify(greet || { type: 'hello', token }));
      });
    });
  }
  request(frame) {
    return new Promise((resolve) => { this.waiting.set(frame.id, (f, at) => resolve([f, at])); this.ws.send(JSON.stringify(frame)); });
  }
  nextFrame() { return new Promise((resolve) => { this.next = (f) => resolve(f); }); }
  close() { try { this.ws.terminate(); } catch (e) {} }
}

// One Colyseus client in a room: requests answered by the room, matched by id.
class Seat {
  static async open(url, roomName) {
    const { Client } = require('@colyseus/sdk');
    const s = new Seat();
    s.room = await new Client(url).joinOrCreate(roomName);
    s.waiting = new Map(); s.listener = null;
    s.room.onMessage('echo', (m) => { const at = now(); const w = s.waiting.get(m.id); if (w) { s.waiting.delete(m.id); w([m, at]); } });
    s.room.onMessage('event', (m) => { const at = now(); if (s.listener) s.listener(JSON.stringify(m), at); });
    return s;
  }
  request(message) { return new Promise((resolve) => { this.waiting.set(message.id, resolve); this.room.send('echo', message); }); }
  close() { try { this.room.connection.transport.ws.terminate(); } catch (e) { try { this.room.leave(false); } catch (e2) {} } }
}

async function openAll(count, open) {
  const out = new Array(count);
  let next = 0;
  async function worker() { while (next < count) { const i = next++; out[i] = await open(i); } }
  await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, count) }, worker));
  return out;
}

// A client of the target: Json or Seat, and how to make its n-th request.
function client(i, room) {
  const t = plan.target;
  if (t === 'colyseus') return Seat.open(plan.url, room);
  const token = t === 'everturn' ? plan.tokens[i % plan.tokens.length] : 'floor';
  return Json.open(plan.url, token);
}
function requestOf(i, n) {
  const id = (plan.tag || '') + 'c' + i + '.' + n + '.' + plan.round;
  if (plan.target === 'everturn') {
    return { type: 'command', id, topic: plan.topics[i % plan.topics.length], command: { type: 'PostAction', data: { text: TEXT } } };
  }
  return { type: 'echo', id, text: TEXT };
}

async function rtt() {
  const clients = await openAll(plan.clients, (i) => client(i, 'echo'));
  const latencies = []; let errors = 0; const codes = {};
  await Promise.all(clients.map(async (c, i) => {
    for (let n = 0; n < plan.round_trips; n++) {
      const start = now();
      const [frame, at] = await c.request(requestOf(i, n));
      if (frame.type === 'error') { errors++; codes[frame.code] = (codes[frame.code] || 0) + 1; } else latencies.push(at - start);
    }
  }));
  clients.forEach((c) => c.close());
  return { ...summary(latencies), errors, error_codes: codes };
}

async function acked() {
  const clients = await openAll(plan.clients, (i) => client(i, 'echo'));
  const warm = now() + plan.warmup_s * 1000; const end = warm + plan.seconds * 1000;
  const latencies = []; let errors = 0; const codes = {};
  let acks = 0;
  async function lane(c, i, lane) {
    let refused = 0;
    for (let n = 0; now() < end; n++) {
      const start = now();
      const [frame, at] = await c.request(requestOf(i, lane + '.' + n));
      if (frame.type === 'error') {
        errors++; codes[frame.code] = (codes[frame.code] || 0) + 1;
        // a well-behaved client backs off (exponentially, jittered) from the token's rate limit (stock:
        // 50 commands/s) and from a full mailbox (256 commands: one campaign under 100 x 8 in flight);
        // retrying at once floods the server with refusals and the acks stop
        const hint = 1000 * ((frame.details && frame.details.retry_after) || frame.retry_after || 0);
        await sleep(Math.max(hint, Math.min(1000, 25 * 2 ** refused++) * (0.5 + Math.random())));
        continue;
      }
      refused = 0;
      if (start >= warm && at <= end) { acks++; latencies.push(at - start); }
    }
  }
  await Promise.all(clients.flatMap((c, i) => Array.from({ length: plan.in_flight }, (_, l) => lane(c, i, l))));
  clients.forEach((c) => c.close());
  return { ...summary(latencies), per_s: Math.round(acks / plan.seconds), acks, errors, error_codes: codes };
}

async function fanout() {
  const t0 = now();
  const subscribers = await openAll(plan.subscribers, async (i) => {
    const c = await client(i, 'fan');
    if (plan.target === 'everturn') {
      c.ws.send(JSON.stringify({ type: 'subscribe', topic: plan.topic }));
      const first = await c.nextFrame();
      if (first.type !== 'snapshot') throw new Error('subscribe: ' + JSON.stringify(first));
    }
    return c;
  });
  const trigger = plan.target === 'colyseus' ? await Seat.open(plan.url, 'fan')
    : await Json.open(plan.url, plan.target === 'everturn' ? plan.trigger_token : 'floor');
  const connect_s = (now() - t0) / 1000;
  const rounds = plan.triggers + 1;
  const latencies = []; const lasts = []; let missed = 0;
  for (let r = 0; r < rounds; r++) {
    const marker = 'fan-' + plan.round + '-' + r + '.';
    const arrivals = new Array(subscribers.length).fill(0);
    let count = 0; let done; const all = new Promise((res) => { done = res; });
    subscribers.forEach((c, i) => {
      c.listener = (raw, at) => {
        if (arrivals[i] || !raw.includes(marker)) return !!arrivals[i] || raw.includes('"type":"event"');
        arrivals[i] = at; if (++count === subscribers.length) done(); return true;
      };
    });
    const sent = now();
    if (plan.target === 'colyseus') trigger.room.send('trigger', { text: marker });
    else if (plan.target === 'everturn') trigger.request({ type: 'command', id: marker, topic: plan.topic, command: { type: 'PostAction', data: { text: marker } } });
    else trigger.ws.send(JSON.stringify({ type: 'broadcast', id: marker, text: marker }));
    await Promise.race([all, sleep(plan.round_timeout_s * 1000)]);
    await sleep(50);  // the trigger's ack and stragglers pass
    if (r === 0) continue;  // warm-up
    const got = arrivals.filter((a) => a).map((a) => a - sent);
    missed += subscribers.length - got.length;
    latencies.push(...got);
    if (got.length) lasts.push(Math.max(...got));
  }
  subscribers.forEach((c) => c.close()); trigger.close();
  lasts.sort((a, b) => a - b);
  return { ...summary(latencies), missed, last_p50_ms: percentile(lasts, 0.5), connect_s: Math.round(connect_s * 100) / 100 };
}

async function idle() {
  // two batches: the first pays what the server spends once (and refills what earlier phases freed),
  // the second is what each added connection costs; the bench reads the RSS after each
  const lines = require('readline').createInterface({ input: process.stdin });
  const told = [];
  let ended = false; let wake = null;
  lines.on('line', () => { told.push(1); if (wake) wake(); });
  lines.on('close', () => { ended = true; if (wake) wake(); });
  const heard = () => new Promise((resolve) => { if (told.length || ended) { told.pop(); resolve(); } else wake = () => { wake = null; told.pop(); resolve(); }; });
  const conns = [];
  for (let b = 0; b < plan.batches; b++) {
    conns.push(...await openAll(plan.connections, (i) => client(i, 'idle')));
    process.stdout.write(JSON.stringify({ ready: conns.length }) + '\n');
    await heard();
  }
  conns.forEach((c) => c.close());
  return { closed: conns.length };
}

const modes = { rtt, acked, fanout, idle };
withTimeout(modes[plan.mode](), plan.timeout_s * 1000, plan.mode)
  .then((result) => { process.stdout.write(JSON.stringify(result) + '\n'); process.exit(0); })
  .catch((err) => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1); });
"""

COLYSEUS = r"""
'use strict';
// A minimal Colyseus 0.18 server: an echo room (answers each message to its sender), a
// broadcast room (a trigger goes to everyone else), an idle room. In memory, loopback only.
const { Server, Room } = require('@colyseus/core');
const { WebSocketTransport } = require('@colyseus/ws-transport');

class Echo extends Room {
  onCreate() { this.maxClients = 1000000; this.onMessage('echo', (client, message) => client.send('echo', message)); }
}
class Fan extends Room {
  onCreate() { this.maxClients = 1000000; this.onMessage('trigger', (client, message) => this.broadcast('event', message, { except: client })); }
}
class Idle extends Room {
  onCreate() { this.maxClients = 1000000; }
}

(async () => {
  const server = new Server({ transport: new WebSocketTransport({ perMessageDeflate: false }), greet: false });
  server.define('echo', Echo);
  server.define('fan', Fan);
  server.define('idle', Idle);
  await server.listen(0, '127.0.0.1');
  const port = server.transport.server.address().port;
  process.stdout.write(JSON.stringify({ url: 'ws://127.0.0.1:' + port }) + '\n');
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
})().catch((err) => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1); });
"""

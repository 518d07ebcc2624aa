// An in-memory Everturn for the bridge's tests, as docs/bridge.md describes the server: one world,
// the emitter elected among the connected bridges (the first; the next when it leaves), events
// applied once by id (sent again: the same seq), only the emitter's taken, commands given to the
// emitter only and acked by id. Each bridge talks to it through a FakeTransport, the interface
// transport.js's transports implement.

import { TransportError } from "../../server/bridge/foundry/scripts/transport.js";

export class FakeEverturn {
  constructor() {
    this.connected = []; // transports, in the order they came
    this.emitter = null;
    this.applied = new Map(); // event id -> {event, seq, by}
    this.log = []; // events applied, in order
    this.emits = []; // every emit request: {by, ids, emitter}
    this.commands = []; // {id, kind, data, seq, status, reason}
    this.acks = []; // every ack received: {by, id, ok, reason}
    this.seq = 0;
    this.commandSeq = 0;
  }

  transport(instance) {
    return new FakeTransport(this, instance);
  }

  attach(transport) {
    if (!this.connected.includes(transport)) this.connected.push(transport);
    if (this.emitter === null) this.emitter = transport;
    transport.listener.connected(true);
    transport.listener.emitter(this.emitter === transport);
    this.deliver();
  }

  detach(transport) {
    this.connected = this.connected.filter((t) => t !== transport);
    if (this.emitter !== transport) return;
    this.emitter = this.connected[0] ?? null; // the lease handed over at once, as a closed socket does
    this.emitter?.listener.emitter(true);
    this.deliver();
  }

  emit(transport, events) {
    const emitter = this.emitter === transport;
    this.emits.push({ by: transport.instance, ids: events.map((e) => e.id), emitter });
    if (!emitter) {
      return { emitter: false, items: events.map((e) => ({ id: e.id, status: "ignored", seq: null, code: null, message: null })) };
    }
    const items = events.map((event) => {
      let record = this.applied.get(event.id);
      if (!record) {
        record = { event, seq: ++this.seq, by: transport.instance };
        this.applied.set(event.id, record);
        this.log.push(event);
      }
      return { id: event.id, status: "applied", seq: record.seq, code: null, message: null };
    });
    return { emitter: true, items };
  }

  ack(transport, acks) {
    for (const ack of acks) {
      this.acks.push({ by: transport.instance, ...ack });
      const command = this.commands.find((c) => c.id === ack.id);
      if (command && command.status === "queued") {
        command.status = ack.ok ? "acked" : "failed";
        command.reason = ack.reason ?? null;
      }
    }
    return { items: acks.map((ack) => this.commands.find((c) => c.id === ack.id) ?? null) };
  }

  /** The GM queues a command for the world. */
  queue(kind, data, id = `c${this.commandSeq + 1}`) {
    this.commands.push({ id, kind, data, seq: ++this.commandSeq, status: "queued", reason: null });
    this.deliver();
    return id;
  }

  /** Commands due to the emitter: those after its `since`. */
  deliver() {
    const to = this.emitter;
    if (!to) return;
    const due = this.commands.filter((c) => c.status === "queued" && c.seq > to.since);
    if (!due.length) return;
    to.since = Math.max(...due.map((c) => c.seq));
    to.listener.commands(due.map(({ id, kind, data, seq }) => ({ id, kind, data, seq })));
  }

  /** Delivers a command again (its ack was lost, 30 s passed). */
  redeliver(id) {
    const command = this.commands.find((c) => c.id === id);
    this.emitter.listener.commands([{ id: command.id, kind: command.kind, data: command.data, seq: command.seq }]);
  }

  /** The ids of the events applied, in order. */
  get appliedIds() {
    return this.log.map((e) => e.id);
  }
}

export class FakeTransport {
  constructor(server, instance) {
    this.server = server;
    this.instance = instance;
    this.name = "fake";
    this.since = 0;
    this.up = false;
    this.loseNextAnswer = false; // the next emit is applied but its answer never arrives
  }

  start(listener) {
    this.listener = listener;
    this.up = true;
    this.server.attach(this);
  }

  stop() {
    this.up = false;
    this.server.detach(this);
  }

  /** The connection drops (the server restarts, the network fails). */
  drop() {
    this.up = false;
    this.server.detach(this);
    this.listener.connected(false);
  }

  reconnect() {
    this.up = true;
    this.server.attach(this);
  }

  async emit(events) {
    await Promise.resolve();
    if (!this.up) throw new TransportError("not connected to Everturn");
    const answer = this.server.emit(this, structuredClone(events));
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      this.drop();
      throw new TransportError("the connection to Everturn was lost");
    }
    return answer;
  }

  async ack(acks) {
    await Promise.resolve();
    if (!this.up) throw new TransportError("not connected to Everturn");
    return this.server.ack(this, structuredClone(acks));
  }
}

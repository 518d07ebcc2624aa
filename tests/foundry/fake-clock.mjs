// Time the tests drive: timers fire when the test advances the clock, never on the wall clock.

/** Lets every promise chain that can move move (a macrotask turn after the microtasks). */
export function settle(turns = 3) {
  let chain = Promise.resolve();
  for (let i = 0; i < turns; i++) chain = chain.then(() => new Promise((resolve) => setImmediate(resolve)));
  return chain;
}

export class FakeClock {
  constructor(start = 1_000_000) {
    this.time = start;
    this.timers = new Map();
    this.next = 1;
  }

  now() {
    return this.time;
  }

  setTimeout(fn, ms) {
    const id = this.next++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn, id });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  /** Moves time on by `ms`, firing each timer due on the way, in order, settling after each. */
  async advance(ms) {
    const until = this.time + ms;
    await settle();
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers.delete(due.id);
      this.time = Math.max(this.time, due.at);
      due.fn();
      await settle();
    }
    this.time = until;
    await settle();
  }

  /** Pending timers' delays from now, soonest first (what a reconnect is waiting for). */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }
}

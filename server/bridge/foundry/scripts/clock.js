// Time as the bridge uses it: injected, so tests drive it instead of sleeping on the wall clock.

/** The browser's own clock. */
export const realClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle),
};

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks why it woke). */
export function sleep(clock, ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clock.clearTimeout(handle);
      signal?.removeEventListener?.("abort", done);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    signal?.addEventListener?.("abort", done, { once: true });
  });
}

/** `promise`, or a rejection with `error()` once `ms` pass first; the timer is cleared either way. */
export function within(clock, ms, promise, error) {
  let handle;
  const timeout = new Promise((_, reject) => {
    handle = clock.setTimeout(() => reject(error()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clock.clearTimeout(handle));
}

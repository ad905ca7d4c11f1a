/**
 * Time, injected. Services never call `Date.now()` themselves, so tests can freeze or move time and the
 * token, lockout and expiry rules are checked against one clock.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock for tests: starts at `start` and moves only when told. */
export function createManualClock(start: Date | number = Date.now()) {
  let t = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    set(at: Date | number) {
      t = typeof at === 'number' ? at : at.getTime();
    },
  };
}

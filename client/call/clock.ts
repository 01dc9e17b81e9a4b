// Time and chance as the call engine sees them: the browser's in the app, a hand-turned one in the
// call's unit tests, so reconnect backoff and credential renewal are tested without waiting.

export type TimerId = ReturnType<typeof setTimeout>;

export interface Clock {
  now(): number;
  /** In [0, 1), for jitter. */
  random(): number;
  setTimeout(run: () => void, ms: number): TimerId;
  clearTimeout(timer: TimerId | undefined): void;
  setInterval(run: () => void, ms: number): TimerId;
  clearInterval(timer: TimerId | undefined): void;
}

export const browserClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer),
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (timer) => clearInterval(timer),
};

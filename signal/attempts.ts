// Sliding-window counts per key (an address block, a meeting, a pair of both): password guesses,
// joins, knocks, relay credentials. Past the limit, further events are refused until the oldest
// one in the window ages out. Pure: times are passed in.

export interface AttemptLimit {
  /** Events allowed per key in one window (guesses, joins, knocks, credentials: not only failures). */
  maxEvents: number;
  windowMs: number;
}

export class SlidingWindow {
  private readonly events = new Map<string, number[]>();

  constructor(private readonly limit: AttemptLimit) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfter(key: string, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < this.limit.maxEvents) return 0;
    return recent[0]! + this.limit.windowMs - now;
  }

  /** Counts an event for `key`. */
  record(key: string, now: number): void {
    const recent = this.recent(key, now);
    recent.push(now);
    // Only the newest maxEvents matter for the decision: memory per key stays bounded.
    this.events.set(key, recent.slice(-this.limit.maxEvents));
  }

  /** Counts an event if the budget allows it; returns whether it did. */
  take(key: string, now: number): boolean {
    if (this.retryAfter(key, now) > 0) return false;
    this.record(key, now);
    return true;
  }

  /** Takes back the event counted at `at` (a guess that turned out right). */
  forgive(key: string, at: number): void {
    const recent = this.events.get(key);
    const index = recent?.lastIndexOf(at) ?? -1;
    if (index < 0) return;
    recent!.splice(index, 1);
    if (recent!.length === 0) this.events.delete(key);
  }

  /** Drops keys whose events have all aged out; call now and then so memory does not grow. */
  prune(now: number): void {
    for (const key of [...this.events.keys()]) this.recent(key, now);
  }

  get size(): number {
    return this.events.size;
  }

  private recent(key: string, now: number): number[] {
    const recent = (this.events.get(key) ?? []).filter((at) => now - at < this.limit.windowMs);
    if (recent.length === 0) this.events.delete(key);
    else this.events.set(key, recent);
    return recent;
  }
}

// Throttles password guessing: failures are counted per key (an address, a room) in a sliding
// window; past the limit, further guesses are refused until the oldest failure ages out.

export interface AttemptLimit {
  maxFailures: number;
  windowMs: number;
}

export class FailedAttempts {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: AttemptLimit) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfter(key: string, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < this.limit.maxFailures) return 0;
    return recent[0]! + this.limit.windowMs - now;
  }

  fail(key: string, now: number): void {
    const recent = this.recent(key, now);
    recent.push(now);
    // Only the newest maxFailures matter for the decision: memory per key stays bounded.
    this.failures.set(key, recent.slice(-this.limit.maxFailures));
  }

  /** Drops keys whose failures have all aged out; call now and then so memory does not grow. */
  prune(now: number): void {
    for (const key of [...this.failures.keys()]) this.recent(key, now);
  }

  get size(): number {
    return this.failures.size;
  }

  private recent(key: string, now: number): number[] {
    const recent = (this.failures.get(key) ?? []).filter((at) => now - at < this.limit.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else this.failures.set(key, recent);
    return recent;
  }
}

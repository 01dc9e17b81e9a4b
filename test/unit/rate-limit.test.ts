import { describe, expect, it } from 'vitest';
import { meterMessage, newBucket, type RateLimit, type TokenBucket } from '../../signal/rate-limit.js';

const LIMIT: RateLimit = { burst: 5, perSecond: 2 };

/** One message through a limiter that never cuts off: whether the bucket had a token for it. */
const take = (bucket: TokenBucket, limit: RateLimit, now: number): boolean => meterMessage(bucket, limit, Infinity, now) === 'pass';

/** How many of n messages sent at the same instant pass. */
function passing(bucket: ReturnType<typeof newBucket>, n: number, now: number): number {
  let passed = 0;
  for (let i = 0; i < n; i++) if (take(bucket, LIMIT, now)) passed++;
  return passed;
}

describe('token bucket rate limit', () => {
  it('lets a burst through at once, then refuses', () => {
    const bucket = newBucket(LIMIT, 0);
    expect(passing(bucket, 5, 0)).toBe(5);
    expect(take(bucket, LIMIT, 0)).toBe(false);
  });

  it('refills at the configured rate', () => {
    const bucket = newBucket(LIMIT, 0);
    passing(bucket, 5, 0);

    expect(take(bucket, LIMIT, 400)).toBe(false); // 0.8 tokens: not yet
    expect(take(bucket, LIMIT, 500)).toBe(true); // 1 token after half a second
    expect(take(bucket, LIMIT, 500)).toBe(false);
    expect(passing(bucket, 10, 1500)).toBe(2); // one more second: two more
  });

  it('never saves up more than the burst, however long a client was quiet', () => {
    const bucket = newBucket(LIMIT, 0);
    expect(passing(bucket, 100, 3_600_000)).toBe(5);
  });

  it('does not grant tokens when the clock goes backwards', () => {
    const bucket = newBucket(LIMIT, 10_000);
    passing(bucket, 5, 10_000);
    expect(take(bucket, LIMIT, 5_000)).toBe(false);
  });

  it('keeps one bucket per client: a flood from one does not slow another', () => {
    const flooder = newBucket(LIMIT, 0);
    const quiet = newBucket(LIMIT, 0);
    passing(flooder, 50, 0);
    expect(take(quiet, LIMIT, 0)).toBe(true);
  });

  it('sustains exactly the refill rate over a long run', () => {
    const bucket = newBucket(LIMIT, 0);
    let passed = 0;
    // One message every 100 ms for 10 s: 5 from the burst plus 2 per second.
    for (let t = 0; t < 10_000; t += 100) if (take(bucket, LIMIT, t)) passed++;
    expect(passed).toBeGreaterThanOrEqual(5 + 2 * 9);
    expect(passed).toBeLessThanOrEqual(5 + 2 * 10);
  });
});

describe('cutting off a client that stays over the limit', () => {
  it('cuts off a steady flood even though a refilled token lets a message through now and then', () => {
    const bucket = newBucket(LIMIT, 0);
    const verdicts: string[] = [];
    // Ten messages every 100 ms: fifty times the refill rate, for up to 10 s.
    for (let t = 0; t < 10_000 && verdicts.at(-1) !== 'cut-off'; t += 100) {
      for (let i = 0; i < 10; i++) verdicts.push(meterMessage(bucket, LIMIT, 20, t));
    }
    expect(verdicts).toContain('pass');
    expect(verdicts.at(-1)).toBe('cut-off');
    expect(verdicts.filter((v) => v === 'refuse')).toHaveLength(19);
  });

  it('forgives a burst once the client has been quiet long enough to fill its bucket', () => {
    const bucket = newBucket(LIMIT, 0);
    for (let i = 0; i < 15; i++) meterMessage(bucket, LIMIT, 20, 0); // 5 pass, 10 refused
    expect(bucket.refused).toBe(10);
    expect(meterMessage(bucket, LIMIT, 20, 5_000)).toBe('pass'); // full again after 2.5 s
    expect(bucket.refused).toBe(0);
    for (let i = 0; i < 4; i++) meterMessage(bucket, LIMIT, 20, 5_000);
    for (let i = 0; i < 19; i++) expect(meterMessage(bucket, LIMIT, 20, 5_000)).toBe('refuse');
  });
});

// A token bucket per socket: joining a full meeting trickles a few hundred candidates at once,
// a misbehaving client sends thousands.

export interface TokenBucket {
  tokens: number;
  updatedAt: number;
  /** Messages refused since the bucket was last full: how long the client has been over the limit. */
  refused: number;
}

export interface RateLimit {
  /** Messages a client may send at once. */
  burst: number;
  /** Messages per second refilled. */
  perSecond: number;
}

export type Verdict = 'pass' | 'refuse' | 'cut-off';

export function newBucket(limit: RateLimit, now: number): TokenBucket {
  return { tokens: limit.burst, updatedAt: now, refused: 0 };
}

/** Takes one token if there is one; returns whether the message may pass. */
function take(bucket: TokenBucket, limit: RateLimit, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
  bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond);
  bucket.updatedAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/**
 * Like take, but also decides when to give up on a client: one that keeps sending faster than the
 * refill rate is cut off after `maxRefused` refusals, even if a message slips through now and then.
 * Refusals are forgiven once the client has been quiet long enough for the bucket to fill up.
 */
export function meterMessage(bucket: TokenBucket, limit: RateLimit, maxRefused: number, now: number): Verdict {
  if (take(bucket, limit, now)) {
    if (bucket.tokens >= limit.burst - 1) bucket.refused = 0;
    return 'pass';
  }
  bucket.refused += 1;
  return bucket.refused >= maxRefused ? 'cut-off' : 'refuse';
}

// A token bucket per socket: joining a full meeting trickles a few hundred candidates at once,
// a misbehaving client sends thousands.

export interface TokenBucket {
  tokens: number;
  updatedAt: number;
}

export interface RateLimit {
  /** Messages a client may send at once. */
  burst: number;
  /** Messages per second refilled. */
  perSecond: number;
}

export function newBucket(limit: RateLimit, now: number): TokenBucket {
  return { tokens: limit.burst, updatedAt: now };
}

/** Takes one token if there is one; returns whether the message may pass. */
export function take(bucket: TokenBucket, limit: RateLimit, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
  bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond);
  bucket.updatedAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

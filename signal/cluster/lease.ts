// Which node holds a meeting (issue 15). A meeting lives on one node; the lease `meeting → node`
// in Redis says which. Decisions here are pure; signal/cluster/redis-link.ts runs them in Redis.

import { createHash } from 'node:crypto';

/** A node's liveness key lives this long unless its heartbeat renews it: how fast a killed node's meetings can move. */
export const NODE_TTL_MS = 3000;
export const HEARTBEAT_MS = 1000;
/** A lease outlives its node's heartbeat by far: a live node keeps it while its meeting runs, a dead node's is taken over at once (its liveness key is gone). */
export const LEASE_TTL_MS = 60_000;
export const LEASE_REFRESH_MS = 15_000;
/** A stored meeting nobody comes back to is forgotten after a day. */
export const RECORD_TTL_MS = 24 * 3600_000;

/** Keys name meetings by a hash: Redis never holds a meeting's name. */
export function meetingKey(kind: 'lease' | 'meeting', room: string): string {
  return `treff:${kind}:${createHash('sha256').update(`treff meeting\0${room}`).digest('hex')}`;
}
export const nodeKey = (node: string) => `treff:node:${node}`;

/**
 * Claims a meeting for ARGV[1] unless another live node holds it; returns the holder afterwards.
 * KEYS[1] lease, ARGV[1] this node, ARGV[2] lease ttl (ms). The liveness key of the holder is
 * `treff:node:<holder>`: a holder without one is dead (SIGKILL, power cut) and loses the lease.
 */
export const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and redis.call('EXISTS', 'treff:node:' .. holder) == 1 then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

/** Gives a lease back, only if this node still holds it. KEYS[1] lease, ARGV[1] this node. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export type Admission =
  /** This node holds the meeting (or just took it): let the socket in. */
  | { kind: 'owned'; takenOver: boolean }
  /** Another live node holds it: answer 503 so HAProxy retries there. */
  | { kind: 'moved'; holder: string }
  /** Draining: no new sockets. */
  | { kind: 'draining' }
  /** Redis did not answer: let it in (the lease is best effort; HAProxy's hash still keeps a meeting together). */
  | { kind: 'unchecked' };

/** What a WebSocket upgrade for a meeting gets, from the claim's result (undefined: Redis failed). */
export function admit(me: string, draining: boolean, holder: string | undefined, heldBefore: boolean): Admission {
  if (draining) return { kind: 'draining' };
  if (holder === undefined) return { kind: 'unchecked' };
  if (holder !== me) return { kind: 'moved', holder };
  return { kind: 'owned', takenOver: !heldBefore };
}

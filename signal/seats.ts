// Seats kept for participants whose WebSocket dropped: the browsers' calls go on peer to peer, so
// a participant who comes back within the grace period (with the resume token from its welcome)
// simply gets its id back, and nobody else notices. Pure: times are passed in.

import type { ParticipantId } from './protocol.js';

/**
 * Why a seat is held. 'backpressure': the server dropped the socket because it could not write to
 * it fast enough, which another member can cause on purpose by flooding it; such a seat is not
 * let go early on a peer's `peer-lost` report (issue 11, attack 9).
 */
export type HoldReason = 'connection-lost' | 'backpressure';

export class Seats {
  private readonly tokenOf = new Map<ParticipantId, string>();
  private readonly idOf = new Map<string, ParticipantId>();
  /** Participants whose socket is gone, with the time their seat is given up. */
  private readonly held = new Map<ParticipantId, number>();
  private readonly reasons = new Map<ParticipantId, HoldReason>();

  constructor(private readonly graceMs: number) {}

  /** Remembers the token a participant can resume with. */
  issue(id: ParticipantId, token: string): void {
    this.tokenOf.set(id, token);
    this.idOf.set(token, id);
  }

  /** The socket dropped without leaving: keep the seat until the grace period ends. */
  hold(id: ParticipantId, now: number, reason: HoldReason = 'connection-lost'): void {
    if (!this.tokenOf.has(id)) return;
    this.held.set(id, now + this.graceMs);
    this.reasons.set(id, reason);
  }

  /** Why this seat is held, if it is. */
  holdReason(id: ParticipantId): HoldReason | undefined {
    return this.held.has(id) ? this.reasons.get(id) : undefined;
  }

  /** The id to take back for this token, if its seat is still there; the token stays valid for later drops. */
  resume(token: string, now: number): ParticipantId | null {
    const id = this.idOf.get(token);
    if (id === undefined) return null;
    const until = this.held.get(id);
    if (until !== undefined && now > until) return null;
    this.held.delete(id);
    this.reasons.delete(id);
    return id;
  }

  /** Seats whose grace period is over: they are forgotten and returned, so the room can let them go. */
  expired(now: number): ParticipantId[] {
    const gone = [...this.held].filter(([, until]) => now > until).map(([id]) => id);
    gone.forEach((id) => this.forget(id));
    return gone;
  }

  /** Whether this id has a token (a live or held participant). */
  has(id: ParticipantId): boolean {
    return this.tokenOf.has(id);
  }

  forget(id: ParticipantId): void {
    const token = this.tokenOf.get(id);
    if (token !== undefined) this.idOf.delete(token);
    this.tokenOf.delete(id);
    this.held.delete(id);
    this.reasons.delete(id);
  }

  get size(): number {
    return this.tokenOf.size;
  }
}

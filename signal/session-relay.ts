// Relay (TURN) credentials for the session core (issue 11, attack 8). They go to members who are
// in a call with someone: minted when a participant enters a call, renewed on request, and
// budgeted per address block, so nobody can farm credentials and use the relay for other traffic.
// A member alone in a meeting (the connection check page makes such a meeting to test the relay)
// gets them now and then, on a smaller budget.

import { SlidingWindow } from './attempts.js';
import type { Counters } from './metrics.js';
import { ProtocolError, type IceServer, type ParticipantId } from './protocol.js';
import type { Connection } from './session-connections.js';

const TEN_MINUTES = 10 * 60_000;
/** Relay credentials for someone not (yet) in a call with anyone, e.g. the connection check page. */
const CHECK_CREDENTIALS = { maxEvents: 4, windowMs: TEN_MINUTES };

export interface RelayCredentialsOptions {
  perAddress: number;
  counters: Counters;
  /** Relay credentials for a participant; `address` lets the minter bind or count them. */
  iceServersFor: (id: ParticipantId, host: string, address: string) => IceServer[];
}

export class RelayCredentials {
  /** Participants given relay credentials by this process: they get renewals; others get them when a call starts. */
  private readonly credentialed = new Set<ParticipantId>();
  private readonly inCall: SlidingWindow;
  private readonly check = new SlidingWindow(CHECK_CREDENTIALS);

  constructor(private readonly options: RelayCredentialsOptions) {
    this.inCall = new SlidingWindow({ maxEvents: options.perAddress, windowMs: TEN_MINUTES });
  }

  has(id: ParticipantId): boolean {
    return this.credentialed.has(id);
  }

  /** The participant left its call: it gets fresh credentials when it enters another. */
  forget(id: ParticipantId): void {
    this.credentialed.delete(id);
  }

  /** Fresh credentials for a participant entering a call, within its address's budget ([] past it: direct calls only). */
  mint(connection: Connection | undefined, id: ParticipantId, now: number): IceServer[] {
    if (!connection) return [];
    if (this.inCall.retryAfter(connection.block, now) > 0) {
      this.options.counters.inc('refusals', 'relay-credentials');
      return [];
    }
    const iceServers = this.options.iceServersFor(id, connection.host, connection.address);
    if (iceServers.length > 0) {
      this.inCall.record(connection.block, now);
      this.credentialed.add(id);
    }
    return iceServers;
  }

  /** Asked for by a member of a meeting: a renewal for those who have some, a relay check for those who do not. */
  renew(connection: Connection, id: ParticipantId, now: number): IceServer[] {
    const budget = this.credentialed.has(id) ? this.inCall : this.check;
    const retry = budget.retryAfter(connection.block, now);
    if (retry > 0) throw new ProtocolError('rate-limited', `too many relay credentials for your address: try again in ${Math.ceil(retry / 1000)} seconds`);
    const iceServers = this.options.iceServersFor(id, connection.host, connection.address);
    if (iceServers.length > 0) budget.record(connection.block, now);
    return iceServers;
  }

  /** Forgets budgets that aged out and participants no longer in a meeting, so memory stays bounded. */
  prune(now: number, inMeeting: (id: ParticipantId) => boolean): void {
    this.inCall.prune(now);
    this.check.prune(now);
    for (const id of this.credentialed) if (!inMeeting(id)) this.credentialed.delete(id);
  }
}

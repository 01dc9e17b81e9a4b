// The open connections of the session core, by the number the shell gave each socket and by the
// participant it speaks for, and how many come from each address block (the per-address limit).

import type { ParticipantId } from './protocol.js';
import type { TokenBucket } from './rate-limit.js';
import type { HashJob } from './session-door.js';

export type ConnectionRef = number;

export interface Connection {
  readonly ref: ConnectionRef;
  /** The client's address (never logged) and the block limits count it in (IPv6: its /64). */
  readonly address: string;
  readonly block: string;
  /** The host name the browser used to reach us; the relay is offered under the same name. */
  readonly host: string;
  /** Set by hello. */
  id: ParticipantId | undefined;
  readonly bucket: TokenBucket;
  /** Replaced by a newer socket that resumed this participant's seat. */
  superseded: boolean;
  /** The one password hash this connection may have queued or running. */
  hashing: HashJob | undefined;
  /** Signals refused because their receiver is not keeping up: the sender is told now and then, not each time. */
  refusedForSlowReceiver: number;
}

export class Connections {
  private readonly byRef = new Map<ConnectionRef, Connection>();
  private readonly byParticipant = new Map<ParticipantId, Connection>();
  private readonly perBlock = new Map<string, number>();

  get size(): number {
    return this.byRef.size;
  }

  get(ref: ConnectionRef): Connection | undefined {
    return this.byRef.get(ref);
  }

  /** The connection that speaks for this participant now. */
  of(id: ParticipantId): Connection | undefined {
    return this.byParticipant.get(id);
  }

  hasParticipant(id: ParticipantId): boolean {
    return this.byParticipant.has(id);
  }

  fromBlock(block: string): number {
    return this.perBlock.get(block) ?? 0;
  }

  /** Every open connection (shutdown closes them all). */
  refs(): ConnectionRef[] {
    return [...this.byRef.keys()];
  }

  add(connection: Connection): void {
    this.perBlock.set(connection.block, this.fromBlock(connection.block) + 1);
    this.byRef.set(connection.ref, connection);
  }

  /** This connection speaks for `id` from now on (hello, or a resume that took the seat back). */
  take(connection: Connection, id: ParticipantId): void {
    connection.id = id;
    this.byParticipant.set(id, connection);
  }

  /** Forgets a closed connection (its participant stays reachable until `release`). */
  remove(connection: Connection): void {
    this.byRef.delete(connection.ref);
    const left = this.fromBlock(connection.block) - 1;
    if (left > 0) this.perBlock.set(connection.block, left);
    else this.perBlock.delete(connection.block);
  }

  /**
   * The closed connection no longer speaks for `id`; false when a newer one that resumed the seat
   * already does, so the seat is not this close's to decide.
   */
  release(connection: Connection, id: ParticipantId): boolean {
    if (this.byParticipant.get(id) !== connection) return false;
    this.byParticipant.delete(id);
    return true;
  }
}

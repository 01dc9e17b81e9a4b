// The signalling session core: everything a connection does between open and close, without a
// socket. It takes events (a socket opened from an address, a message arrived, a socket closed and
// why, a password hash finished, time passed) and returns effects (send this to that connection,
// close that one, hash this password), as Rooms returns an Outbox. server.ts only turns uWS
// callbacks into these events and effects into writes, so every decision here is unit-tested
// without sockets (test/unit/session*.test.ts), with a fake clock (issue 11).
//
// Connections are named by a number the shell chose (ConnectionRef), never by participant id: a
// late effect for a connection that has closed names a connection that no longer exists, and the
// shell drops it, instead of writing to a closed socket or to whoever took the id over since.
//
// The parts: session-connections.ts (who is connected), session-messages.ts (each client
// message), session-door.ts (who may come in; password checks), session-delivery.ts (room
// outboxes to connections), session-relay.ts (relay credentials), session-effects.ts (the effects).

import type { Config } from './config.js';
import { addressBlock } from './address-block.js';
import type { HashQueueLimits } from './hash-queue.js';
import { newResumeToken } from './identity.js';
import type { Logger } from './log.js';
import type { Counters } from './metrics.js';
import { CloseCode, ProtocolError, parseClientMessage, type IceServer, type ParticipantId } from './protocol.js';
import { meterMessage, newBucket } from './rate-limit.js';
import type { Rooms } from './rooms.js';
import type { Seats } from './seats.js';
import { Connections, type Connection, type ConnectionRef } from './session-connections.js';
import { Delivery } from './session-delivery.js';
import { Door, type HashJob, type HashOutcome } from './session-door.js';
import { Effects, type Effect } from './session-effects.js';
import { ClientMessages, SLOW_RECEIVER_BYTES } from './session-messages.js';
import { RelayCredentials } from './session-relay.js';

export type { Connection, ConnectionRef, Effect };
export { SLOW_RECEIVER_BYTES };

/** Why a socket closed: 'backpressure' when the shell saw uWS drop it for not reading. */
export type CloseCause = 'client' | 'backpressure';

export interface SessionOptions {
  rooms: Rooms;
  seats: Seats;
  counters: Counters;
  logger: Logger;
  limits: Config['limits'];
  /** Relay credentials for a participant; `address` lets the minter bind or count them. */
  iceServersFor: (id: ParticipantId, host: string, address: string) => IceServer[];
  /** Bytes waiting to be written to a connection (uWS getBufferedAmount). */
  backlog: (ref: ConnectionRef) => number;
  hashLimits?: HashQueueLimits;
  /** For tests: deterministic tokens. */
  newToken?: () => string;
}

export class Session {
  private readonly connections = new Connections();
  private readonly effects: Effects;
  private readonly relayCredentials: RelayCredentials;
  private readonly delivery: Delivery;
  private readonly door: Door;
  private readonly messages: ClientMessages;
  private shuttingDown = false;

  constructor(private readonly options: SessionOptions) {
    const { rooms, seats, counters, logger, limits } = options;
    const connections = this.connections;
    const effects = new Effects(counters, logger);
    const relayCredentials = new RelayCredentials({ perAddress: limits.relayCredentialsPerAddress, counters, iceServersFor: options.iceServersFor });
    // The door hands its outboxes to delivery; delivery tells the door when a new moderator needs the knocks again.
    const delivery = new Delivery({ rooms, connections, relayCredentials, effects, counters, resendKnocks: (id) => door.resendKnocks(id) });
    const door = new Door({ rooms, counters, effects, delivery, connections, knocksPerAddress: limits.knocksPerAddress, hashLimits: options.hashLimits });
    this.effects = effects;
    this.relayCredentials = relayCredentials;
    this.delivery = delivery;
    this.door = door;
    this.messages = new ClientMessages({ rooms, seats, counters, connections, door, delivery, relayCredentials, effects, backlog: options.backlog, newToken: options.newToken ?? newResumeToken });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  opened(ref: ConnectionRef, socket: { address: string; host: string }, now: number): Effect[] {
    return this.effects.collect(() => {
      const { counters, limits, logger } = this.options;
      const block = addressBlock(socket.address);
      if (this.shuttingDown) return this.effects.close(ref, CloseCode.GoingAway, 'server shutting down');
      if (this.connections.fromBlock(block) >= limits.connectionsPerAddress) {
        counters.inc('refusals', 'too-many-connections');
        logger.warn('refused a connection: too many from one address', { limit: limits.connectionsPerAddress });
        return this.effects.close(ref, CloseCode.TooManyConnections, 'too many connections from your address');
      }
      counters.inc('connectionsOpened');
      this.connections.add({ ref, address: socket.address, block, host: socket.host, id: undefined, bucket: newBucket(limits.rate, now), superseded: false, hashing: undefined, refusedForSlowReceiver: 0 });
    });
  }

  /** A message as text (the shell decodes the bytes; invalid UTF-8 becomes U+FFFD and fails parsing). */
  message(ref: ConnectionRef, text: string, now: number): Effect[] {
    return this.effects.collect(() => {
      const connection = this.connections.get(ref);
      if (!connection) return;
      const { counters, limits } = this.options;
      counters.inc('messagesReceived');
      const verdict = meterMessage(connection.bucket, limits.rate, limits.maxRefused, now);
      if (verdict === 'cut-off') {
        counters.inc('refusals', 'flood-cut-off');
        return this.effects.close(ref, CloseCode.RateLimited, 'too many messages');
      }
      if (verdict === 'refuse') {
        if (connection.bucket.refused === 1) this.effects.refuse(connection, 'rate-limited', 'too many messages: slow down');
        return;
      }
      try {
        this.messages.handle(connection, parseClientMessage(text), now);
      } catch (error) {
        if (!(error instanceof ProtocolError)) return this.effects.fail(connection, 'message', error);
        this.effects.refuse(connection, error.code, error.message);
      }
    });
  }

  closed(ref: ConnectionRef, cause: CloseCause, now: number): Effect[] {
    return this.effects.collect(() => {
      const connection = this.connections.get(ref);
      if (!connection) return;
      this.connections.remove(connection);
      this.door.connectionClosed(connection, now);
      const id = connection.id;
      if (id === undefined || !this.connections.release(connection, id)) return;
      if (connection.superseded || this.shuttingDown) return; // on shutdown nobody is told: calls go on peer to peer
      const { rooms, seats } = this.options;
      if (rooms.roomOf(id) && seats.has(id)) {
        // A dropped connection keeps its seat for a while: the calls go on, and it may come back.
        seats.hold(id, now, cause === 'backpressure' ? 'backpressure' : 'connection-lost');
      } else {
        seats.forget(id);
        this.delivery.leave(id, now);
      }
    });
  }

  hashFinished(job: HashJob, outcome: HashOutcome, now: number): Effect[] {
    return this.effects.collect(() => this.door.hashFinished(job, outcome, now));
  }

  /** Time passing, a few times a second: seats whose grace ran out, rebuild windows of Rooms. */
  tick(now: number): Effect[] {
    return this.effects.collect(() => {
      const { rooms, seats } = this.options;
      for (const id of seats.expired(now)) this.delivery.leave(id, now);
      this.delivery.deliver(rooms.tick(now), now);
    });
  }

  /** Now and then: forgets limits that aged out, so memory stays bounded. */
  prune(now: number): void {
    this.relayCredentials.prune(now, (id) => this.options.rooms.roomOf(id) !== undefined);
    this.messages.prune(now);
    this.door.prune(now);
  }

  /** Tells every client the server is going away; their later close events tell nobody anything. */
  shutdown(): Effect[] {
    return this.effects.collect(() => {
      this.shuttingDown = true;
      for (const ref of this.connections.refs()) this.effects.close(ref, CloseCode.GoingAway, 'server shutting down');
    });
  }
}

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

import type { Config } from './config.js';
import { addressBlock } from './address-block.js';
import { SlidingWindow } from './attempts.js';
import { Door, type HashJob, type HashOutcome } from './session-door.js';
import type { HashQueueLimits } from './hash-queue.js';
import { adoptable, idForToken, newResumeToken } from './identity.js';
import type { Logger } from './log.js';
import type { Counters } from './metrics.js';
import { CloseCode, PROTOCOL_VERSION, ProtocolError, parseClientMessage, type ClientMessage, type ErrorCode, type IceServer, type ParticipantId, type ServerMessage } from './protocol.js';
import { admit, newBucket, type TokenBucket } from './rate-limit.js';
import type { Outbox, Rooms } from './rooms.js';
import type { Seats } from './seats.js';

export type ConnectionRef = number;

export type Effect =
  | { type: 'send'; to: ConnectionRef; message: ServerMessage }
  | { type: 'close'; to: ConnectionRef; code: CloseCode; reason: string }
  /** Hash `password` (or check it against `job.against`) off the event loop, then call `hashFinished`. */
  | { type: 'hash'; job: HashJob };

/** Why a socket closed: 'backpressure' when the shell saw uWS drop it for not reading. */
export type CloseCause = 'client' | 'backpressure';

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

/**
 * A relayed signal is refused to its sender while this much is already waiting for the receiver:
 * whoever floods a member is throttled, not the member (uWS drops a socket at 1 MiB, attack 9).
 * A full meeting's join sends the newcomer about 11 offers of ~10 KB: far below.
 */
export const SLOW_RECEIVER_BYTES = 256 * 1024;
const TEN_MINUTES = 10 * 60_000;
/** Relay credentials for someone not (yet) in a call with anyone, e.g. the connection check page. */
const CHECK_CREDENTIALS = { maxFailures: 4, windowMs: TEN_MINUTES };
/** mute-all asks every member's browser to mute: a moderator needs it now and then, not in a loop. */
const MUTE_ALL = { maxFailures: 3, windowMs: 60_000 };

export class Session {
  private readonly connections = new Map<ConnectionRef, Connection>();
  private readonly byParticipant = new Map<ParticipantId, Connection>();
  private readonly perBlock = new Map<string, number>();
  /** Participants given relay credentials by this process: they get renewals; others get them when a call starts. */
  private readonly credentialed = new Set<ParticipantId>();
  private readonly credentials: SlidingWindow;
  private readonly checkCredentials = new SlidingWindow(CHECK_CREDENTIALS);
  private readonly muteAlls = new SlidingWindow(MUTE_ALL);
  private readonly door: Door;
  private effects: Effect[] = [];
  private shuttingDown = false;
  private readonly newToken: () => string;

  constructor(private readonly options: SessionOptions) {
    this.newToken = options.newToken ?? newResumeToken;
    this.credentials = new SlidingWindow({ maxFailures: options.limits.relayCredentialsPerAddress, windowMs: TEN_MINUTES });
    this.door = new Door({
      rooms: options.rooms,
      counters: options.counters,
      knocksPerAddress: options.limits.knocksPerAddress,
      hashLimits: options.hashLimits,
      emit: (effect) => this.effects.push(effect),
      send: (connection, message) => this.sendTo(connection, message),
      deliver: (outbox, now, rejoiner) => this.deliver(outbox, now, rejoiner),
      connection: (ref) => this.connections.get(ref),
      connectionOf: (id) => this.byParticipant.get(id),
      fail: (connection, stage, error) => this.fail(connection, stage, error),
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  opened(ref: ConnectionRef, socket: { address: string; host: string }, now: number): Effect[] {
    return this.run(() => {
      const block = addressBlock(socket.address);
      const fromBlock = this.perBlock.get(block) ?? 0;
      if (this.shuttingDown) return this.close(ref, CloseCode.GoingAway, 'server shutting down');
      if (fromBlock >= this.options.limits.connectionsPerAddress) {
        this.options.counters.inc('refusals', 'too-many-connections');
        this.options.logger.warn('refused a connection: too many from one address', { limit: this.options.limits.connectionsPerAddress });
        return this.close(ref, CloseCode.TooManyConnections, 'too many connections from your address');
      }
      this.perBlock.set(block, fromBlock + 1);
      this.options.counters.inc('connectionsOpened');
      const { limits } = this.options;
      this.connections.set(ref, { ref, address: socket.address, block, host: socket.host, id: undefined, bucket: newBucket(limits.rate, now), superseded: false, hashing: undefined, refusedForSlowReceiver: 0 });
    });
  }

  /** A message as text (the shell decodes the bytes; invalid UTF-8 becomes U+FFFD and fails parsing). */
  message(ref: ConnectionRef, text: string, now: number): Effect[] {
    return this.run(() => {
      const connection = this.connections.get(ref);
      if (!connection) return;
      const { counters, limits } = this.options;
      counters.inc('messagesReceived');
      const verdict = admit(connection.bucket, limits.rate, limits.maxRefused, now);
      if (verdict === 'cut-off') {
        counters.inc('refusals', 'flood-cut-off');
        return this.close(ref, CloseCode.RateLimited, 'too many messages');
      }
      if (verdict === 'refuse') {
        if (connection.bucket.refused === 1) this.refuse(connection, 'rate-limited', 'too many messages: slow down');
        return;
      }
      try {
        this.handle(connection, parseClientMessage(text), now);
      } catch (error) {
        if (!(error instanceof ProtocolError)) return this.fail(connection, 'message', error);
        this.refuse(connection, error.code, error.message);
      }
    });
  }

  closed(ref: ConnectionRef, cause: CloseCause, now: number): Effect[] {
    return this.run(() => {
      const connection = this.connections.get(ref);
      if (!connection) return;
      this.connections.delete(ref);
      const left = (this.perBlock.get(connection.block) ?? 1) - 1;
      if (left > 0) this.perBlock.set(connection.block, left);
      else this.perBlock.delete(connection.block);
      this.door.connectionClosed(connection, now);
      const id = connection.id;
      if (id === undefined || this.byParticipant.get(id) !== connection) return;
      this.byParticipant.delete(id);
      if (connection.superseded || this.shuttingDown) return; // on shutdown nobody is told: calls go on peer to peer
      const { rooms, seats } = this.options;
      if (rooms.roomOf(id) && seats.has(id)) {
        // A dropped connection keeps its seat for a while: the calls go on, and it may come back.
        seats.hold(id, now, cause === 'backpressure' ? 'backpressure' : 'connection-lost');
      } else {
        seats.forget(id);
        this.credentialed.delete(id);
        this.deliver(rooms.leave(id, now), now);
      }
    });
  }

  hashFinished(job: HashJob, outcome: HashOutcome, now: number): Effect[] {
    return this.run(() => this.door.hashFinished(job, outcome, now));
  }

  /** Time passing, a few times a second: seats whose grace ran out, rebuild windows of Rooms. */
  tick(now: number): Effect[] {
    return this.run(() => {
      const { rooms, seats } = this.options;
      for (const id of seats.expired(now)) {
        this.credentialed.delete(id);
        this.deliver(rooms.leave(id, now), now);
      }
      this.deliver(rooms.tick(now), now);
    });
  }

  /** Now and then: forgets limits that aged out, so memory stays bounded. */
  prune(now: number): void {
    this.credentials.prune(now);
    this.checkCredentials.prune(now);
    this.muteAlls.prune(now);
    this.door.prune(now);
    for (const id of this.credentialed) if (this.options.rooms.roomOf(id) === undefined) this.credentialed.delete(id);
  }

  /** Tells every client the server is going away; their later close events tell nobody anything. */
  shutdown(): Effect[] {
    return this.run(() => {
      this.shuttingDown = true;
      for (const ref of this.connections.keys()) this.close(ref, CloseCode.GoingAway, 'server shutting down');
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  private handle(connection: Connection, msg: ClientMessage, now: number): void {
    const id = connection.id;
    if (id === undefined) {
      if (msg.type !== 'hello') throw new ProtocolError('hello-required', 'send hello first');
      return this.hello(connection, msg, now);
    }
    const { rooms, seats } = this.options;
    switch (msg.type) {
      case 'hello':
        // One hello per socket: a second one would change the id of a socket that may be in a room.
        throw new ProtocolError('bad-message', 'hello was already said');
      case 'join':
        return this.door.join(connection, id, msg, now);
      case 'signal':
        return this.relay(connection, id, msg.to, msg.data, now);
      case 'leave':
        this.door.withdraw(connection, now);
        this.credentialed.delete(id);
        return this.deliver(rooms.leave(id, now), now);
      case 'ping':
        return this.sendTo(connection, { type: 'pong' });
      case 'ice-servers':
        return this.renewRelayCredentials(connection, id, now);
      case 'set-password':
        return this.door.setPassword(connection, id, msg.password, now);
      case 'make-moderator':
        return this.deliver(rooms.makeModerator(id, msg.id), now);
      case 'remove': {
        const removed = this.byParticipant.get(msg.id);
        const room = rooms.roomOf(id);
        this.deliver(rooms.remove(id, msg.id, now), now);
        this.credentialed.delete(msg.id);
        // The seat (resume token) stays: the removed browser is still connected and may join
        // another meeting; the door keeps it out of this one.
        return this.door.removed(room!, msg.id, removed?.block, now);
      }
      case 'mute-all':
        rooms.requireModerator(id);
        if (!this.muteAlls.take(String(connection.ref), now)) throw new ProtocolError('rate-limited', 'you asked everyone to mute a moment ago');
        return this.deliver(rooms.muteAll(id), now);
      case 'lock':
        return this.deliver(rooms.setLocked(id, msg.locked), now);
      case 'lobby':
        return this.deliver(rooms.setLobby(id, msg.enabled), now);
      case 'admit':
        if (this.door.admit(id, msg.id, now)) return;
        return this.deliver(rooms.admitFromLobby(id, msg.id), now);
      case 'decline':
        if (this.door.decline(id, msg.id)) return;
        return this.deliver(rooms.decline(id, msg.id), now);
      case 'peer-lost':
        return this.peerLost(id, msg.id, now);
      default:
        return unhandled(msg);
    }
  }

  /** Greets a socket: with a valid resume token it takes back its participant's seat and id. */
  private hello(connection: Connection, msg: Extract<ClientMessage, { type: 'hello' }>, now: number): void {
    if (msg.version !== PROTOCOL_VERSION) {
      this.refuse(connection, 'version-mismatch', `this page is out of date (protocol ${msg.version}, server ${PROTOCOL_VERSION}): reload it`);
      return this.close(connection.ref, CloseCode.VersionMismatch, 'version mismatch');
    }
    const { seats, rooms } = this.options;
    const resumeToken = msg.resumeToken;
    const resumedId = resumeToken ? seats.resume(resumeToken, now) : null;
    if (resumeToken && resumedId) {
      const previous = this.byParticipant.get(resumedId);
      if (previous && previous !== connection) {
        // A half-open old connection: the new one wins, quietly.
        previous.superseded = true;
        this.close(previous.ref, CloseCode.GoingAway, 'resumed elsewhere');
      }
      this.take(connection, resumedId);
      return this.sendTo(connection, { type: 'welcome', you: resumedId, resumeToken, resumed: true });
    }
    // A token we do not know (we restarted, or the seat expired) still proves its id: take it
    // unless that id is in use; otherwise a fresh token and id.
    const inUse = (id: ParticipantId) => this.byParticipant.has(id) || seats.has(id) || rooms.roomOf(id) !== undefined;
    const token = resumeToken && adoptable(resumeToken) && !inUse(idForToken(resumeToken)) ? resumeToken : this.newToken();
    const id = idForToken(token);
    this.take(connection, id);
    seats.issue(id, token);
    this.sendTo(connection, { type: 'welcome', you: id, resumeToken: token, resumed: false });
  }

  private take(connection: Connection, id: ParticipantId): void {
    connection.id = id;
    this.byParticipant.set(id, connection);
  }

  private relay(connection: Connection, from: ParticipantId, to: ParticipantId, data: Extract<ClientMessage, { type: 'signal' }>['data'], now: number): void {
    const outbox = this.options.rooms.relay(from, to, data);
    const receiver = this.byParticipant.get(to);
    if (receiver && this.options.backlog(receiver.ref) > SLOW_RECEIVER_BYTES) {
      // Dropped; the sender hears of it on the first and every 100th, so the refusals cannot flood it in turn.
      if (connection.refusedForSlowReceiver++ % 100 === 0) throw new ProtocolError('rate-limited', 'that participant is not keeping up with your messages: slow down');
      this.options.counters.inc('refusals', 'slow-receiver');
      return;
    }
    connection.refusedForSlowReceiver = 0;
    this.deliver(outbox, now);
  }

  /**
   * Both the socket and a peer's media are gone: a crash, not a blip, so the seat goes now. Only
   * the same meeting counts, and never a seat the server itself dropped for backpressure: another
   * member could have caused that on purpose (attack 9).
   */
  private peerLost(reporter: ParticipantId, lost: ParticipantId, now: number): void {
    const { rooms, seats } = this.options;
    const room = rooms.roomOf(lost);
    if (seats.holdReason(lost) !== 'connection-lost' || room === undefined || room !== rooms.roomOf(reporter)) return;
    seats.forget(lost);
    this.credentialed.delete(lost);
    this.deliver(rooms.leave(lost, now), now);
  }

  /**
   * Relay credentials go to members who are in a call with someone (issue 11, attack 8): asked
   * for again by those who have some (renewal), or once in a while by a member alone in a meeting
   * (the connection check page makes such a meeting to test the relay).
   */
  private renewRelayCredentials(connection: Connection, id: ParticipantId, now: number): void {
    if (this.options.rooms.roomOf(id) === undefined) throw new ProtocolError('not-in-room', 'join a meeting first');
    const budget = this.credentialed.has(id) ? this.credentials : this.checkCredentials;
    const retry = budget.retryAfter(connection.block, now);
    if (retry > 0) throw new ProtocolError('rate-limited', `too many relay credentials for your address: try again in ${Math.ceil(retry / 1000)} seconds`);
    const iceServers = this.options.iceServersFor(id, connection.host, connection.address);
    if (iceServers.length > 0) budget.record(connection.block, now);
    this.sendTo(connection, { type: 'ice-servers', iceServers });
  }

  /** Fresh relay credentials for a participant entering a call, within its address's budget ([] past it: direct calls only). */
  private mint(id: ParticipantId, now: number): IceServer[] {
    const connection = this.byParticipant.get(id);
    if (!connection) return [];
    if (this.credentials.retryAfter(connection.block, now) > 0) {
      this.options.counters.inc('refusals', 'relay-credentials');
      return [];
    }
    const iceServers = this.options.iceServersFor(id, connection.host, connection.address);
    if (iceServers.length > 0) {
      this.credentials.record(connection.block, now);
      this.credentialed.add(id);
    }
    return iceServers;
  }

  // ---------------------------------------------------------------------------------------------
  // Effects

  /**
   * Turns a room outbox into sends to live connections. On the way: whoever enters a call with
   * someone (a `joined` naming others, or a rejoiner still connected to others) gets relay
   * credentials in it; a member who has none gets them just before a second participant arrives.
   */
  private deliver(outbox: Outbox, now: number, rejoiner?: ParticipantId): void {
    const { counters } = this.options;
    for (let { to, message } of outbox) {
      switch (message.type) {
        case 'joined':
          counters.inc('joins');
          if ((message.participants.length > 0 || to === rejoiner) && !this.credentialed.has(to)) message = { ...message, iceServers: this.mint(to, now) };
          break;
        case 'participant-joined':
          if (!this.credentialed.has(to)) {
            const iceServers = this.mint(to, now);
            if (iceServers.length > 0) this.send(to, { type: 'ice-servers', iceServers });
          }
          break;
        case 'moderator-key':
          this.door.resendKnocks(to);
          break;
        case 'signal':
          counters.inc('signalsRelayed');
          break;
        default:
          break;
      }
      this.send(to, message);
    }
  }

  private send(to: ParticipantId, message: ServerMessage): void {
    const connection = this.byParticipant.get(to);
    if (connection) this.sendTo(connection, message);
  }

  private sendTo(connection: Connection, message: ServerMessage): void {
    this.effects.push({ type: 'send', to: connection.ref, message });
  }

  private refuse(connection: Connection, code: ErrorCode, message: string): void {
    this.options.counters.inc('refusals', code);
    this.sendTo(connection, { type: 'error', code, message });
  }

  private close(ref: ConnectionRef, code: CloseCode, reason: string): void {
    this.effects.push({ type: 'close', to: ref, code, reason });
  }

  /** Something no rule foresaw went wrong for this connection: it alone is closed, and it is counted. */
  private fail(connection: Connection, stage: string, error: unknown): void {
    this.options.counters.inc('handlerFailures', stage);
    this.options.logger.error('message handling failed; closing that connection', { stage, error: String(error) });
    this.close(connection.ref, CloseCode.InternalError, 'internal error');
  }

  private run(work: () => void): Effect[] {
    this.effects = [];
    work();
    const effects = this.effects;
    this.effects = [];
    return effects;
  }
}

// The `never` parameter makes the compiler reject a switch above that forgets a message type.
function unhandled(msg: never): never {
  throw new ProtocolError('bad-message', `unknown message type "${(msg as { type: string }).type}"`);
}

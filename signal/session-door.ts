// The door of a meeting, for the session core: who may try to come in, how often, and what a
// password check costs (issue 11, attacks 2, 5, 6, 7, 10, 13b).
// - Every join counts per (address block, meeting): join/leave churn cannot flood the members.
// - Someone the moderator removed cannot come back for a while, by id and by address block.
// - A password guess is counted before it is hashed; a connection has at most one hash queued or
//   running; hashing is capped per address block and globally (HashQueue).
// - Guessing is budgeted per address block and per meeting. A meeting whose budget is spent does
//   not lock its members out: joiners knock instead, and the moderator sees that the server did
//   not check their password (the meeting is under attack) and decides.
// - `set-password`: limited per connection; the last request for a meeting wins, even when an
//   earlier one's slow hash finishes after it.
// - A hash result whose connection is gone is dropped: nothing is written to a closed socket.

import { SlidingWindow } from './attempts.js';
import { HashQueue, type HashQueueLimits } from './hash-queue.js';
import type { Counters } from './metrics.js';
import { ProtocolError, type ClientMessage, type Knocker, type ParticipantId } from './protocol.js';
import type { Rooms } from './rooms.js';
import type { Connection, ConnectionRef, Connections } from './session-connections.js';
import type { Delivery } from './session-delivery.js';
import type { Effects } from './session-effects.js';

type Join = Extract<ClientMessage, { type: 'join' }>;

/** One scrypt run: checking a guess against a meeting's hash, or hashing a moderator's new password. */
export type HashJob =
  | { kind: 'check'; id: number; connection: ConnectionRef; address: string; password: string; against: string; join: Join; countedAt: number }
  | { kind: 'set'; id: number; connection: ConnectionRef; address: string; password: string; room: string; by: ParticipantId; version: number };

export type HashOutcome = { matches: boolean } | { hash: string } | { error: string };

export interface DoorOptions {
  rooms: Rooms;
  counters: Counters;
  knocksPerAddress: number;
  hashLimits?: HashQueueLimits | undefined;
  effects: Effects;
  delivery: Delivery;
  connections: Connections;
}

const MINUTE = 60_000;
/** Guesses per address block and per meeting in ten minutes (SECURITY.md, "Guessing"). */
const GUESSES_PER_ADDRESS = { maxEvents: 10, windowMs: 10 * MINUTE };
const GUESSES_PER_MEETING = { maxEvents: 30, windowMs: 10 * MINUTE };
/** An office of 12 behind one NAT, all reloading twice, fits; churn of 400 joins a second does not. */
const JOINS_PER_ADDRESS_AND_MEETING = { maxEvents: 30, windowMs: MINUTE };
const SET_PASSWORDS_PER_CONNECTION = { maxEvents: 5, windowMs: MINUTE };
/** How long someone the moderator removed stays out of that meeting. */
const REMOVAL_MS = 10 * MINUTE;

interface Waiting {
  connection: ConnectionRef;
  room: string;
  join: Join;
}

export class Door {
  private readonly guessesByBlock = new SlidingWindow(GUESSES_PER_ADDRESS);
  private readonly guessesByRoom = new SlidingWindow(GUESSES_PER_MEETING);
  private readonly joins = new SlidingWindow(JOINS_PER_ADDRESS_AND_MEETING);
  private readonly knocks: SlidingWindow;
  private readonly setPasswords = new SlidingWindow(SET_PASSWORDS_PER_CONNECTION);
  private readonly queue: HashQueue<HashJob>;
  private nextJob = 1;
  /** The newest set-password request per meeting: an older hash that lands later is dropped. */
  private readonly passwordVersion = new Map<string, number>();
  /** A moderator's further new password while one is being hashed: hashed next (the last wins). */
  private readonly nextPassword = new Map<ConnectionRef, { password: string; room: string; by: ParticipantId; version: number }>();
  /** "room\nid" and "room\nblock" of people the moderator removed, until when. */
  private readonly removals = new Map<string, number>();
  /** Joiners knocking because the meeting's guess budget is spent (Rooms' lobby is for checked joiners). */
  private readonly waiting = new Map<ParticipantId, Waiting>();

  constructor(private readonly options: DoorOptions) {
    this.knocks = new SlidingWindow({ maxEvents: options.knocksPerAddress, windowMs: 10 * MINUTE });
    this.queue = new HashQueue(options.hashLimits);
  }

  join(connection: Connection, id: ParticipantId, join: Join, now: number): void {
    const { rooms } = this.options;
    if (this.waiting.has(id) || rooms.roomOf(id) !== undefined) throw new ProtocolError('already-in-room', 'you are already in a meeting');
    if (connection.hashing) throw new ProtocolError('too-many-attempts', 'one password check at a time: wait for the answer');
    const room = join.room;
    if (this.isRemoved(room, id, connection.block, now)) throw new ProtocolError('removed-recently', 'the moderator removed you from this meeting a few minutes ago');
    const joinRetry = this.joins.retryAfter(`${connection.block}\n${room}`, now);
    if (joinRetry > 0) throw new ProtocolError('rate-limited', `too many joins from your address: try again in ${seconds(joinRetry)} seconds`);
    this.joins.record(`${connection.block}\n${room}`, now);
    const hash = rooms.passwordHashFor(room, { id, moderatorKey: join.moderatorKey, rejoin: join.rejoin }, now);
    if (!hash) return this.enter(connection, id, join, false, now);
    if (join.password === undefined) throw new ProtocolError('password-required', 'this meeting needs a password');
    const blockRetry = this.guessesByBlock.retryAfter(connection.block, now);
    if (blockRetry > 0) throw new ProtocolError('too-many-attempts', `too many wrong passwords: try again in ${seconds(blockRetry)} seconds`);
    if (this.guessesByRoom.retryAfter(room, now) > 0) return this.knockUnchecked(connection, id, join, now);
    const job: HashJob = { kind: 'check', id: this.nextJob++, connection: connection.ref, address: connection.block, password: join.password, against: hash, join, countedAt: now };
    this.startHash(connection, job);
    // Counted before hashing: a burst of guesses cannot all be hashed before the first one counts.
    this.guessesByBlock.record(connection.block, now);
    this.guessesByRoom.record(room, now);
  }

  setPassword(connection: Connection, by: ParticipantId, password: string | null, now: number): void {
    const { rooms } = this.options;
    rooms.requireModerator(by);
    if (!this.setPasswords.take(String(connection.ref), now)) throw new ProtocolError('rate-limited', 'the password was changed too often: wait a minute');
    const room = rooms.roomOf(by)!;
    const version = (this.passwordVersion.get(room) ?? 0) + 1;
    this.passwordVersion.set(room, version);
    this.nextPassword.delete(connection.ref);
    if (password === null) return this.options.delivery.deliver(rooms.setPassword(by, null), now);
    if (connection.hashing) return void this.nextPassword.set(connection.ref, { password, room, by, version });
    this.startHash(connection, { kind: 'set', id: this.nextJob++, connection: connection.ref, address: connection.block, password, room, by, version });
  }

  hashFinished(job: HashJob, outcome: HashOutcome, now: number): void {
    this.options.counters.inc('passwordHashesFinished');
    for (const next of this.queue.finished(job)) this.options.effects.emit({ type: 'hash', job: next });
    const connection = this.options.connections.get(job.connection);
    if (connection?.hashing === job) connection.hashing = undefined;
    if (!connection) return; // gone while hashing: nothing to tell, and nobody to tell it to
    if ('error' in outcome) return this.options.effects.fail(connection, 'password', outcome.error);
    try {
      if (job.kind === 'check') this.checked(connection, job, 'matches' in outcome && outcome.matches, now);
      else this.passwordHashed(connection, job, 'hash' in outcome ? outcome.hash : null, now);
    } catch (error) {
      if (!(error instanceof ProtocolError)) return this.options.effects.fail(connection, 'password', error);
      this.options.effects.refuse(connection, error.code, error.message);
    }
  }

  /** The moderator admits someone knocking here; false when they knock in Rooms' own lobby. */
  admitKnocker(by: ParticipantId, id: ParticipantId, now: number): boolean {
    const waiting = this.waiting.get(id);
    if (!waiting) return false;
    this.requireModeratorOf(by, waiting.room);
    const joiner = this.options.connections.get(waiting.connection);
    if (!joiner) return true;
    // The moderator vouches for them: past the password (seats and lock still apply).
    this.enter(joiner, id, waiting.join, true, now, true);
    this.waiting.delete(id);
    return true;
  }

  decline(by: ParticipantId, id: ParticipantId): boolean {
    const waiting = this.waiting.get(id);
    if (!waiting) return false;
    this.requireModeratorOf(by, waiting.room);
    this.waiting.delete(id);
    const joiner = this.options.connections.get(waiting.connection);
    if (joiner) this.options.effects.send(joiner, { type: 'error', code: 'declined', message: 'the moderator did not let you in' });
    return true;
  }

  /** A knocker leaves (or closes): the moderator's list drops them. */
  withdraw(connection: Connection): void {
    const id = connection.id;
    const waiting = id === undefined ? undefined : this.waiting.get(id);
    if (!waiting || waiting.connection !== connection.ref) return;
    this.waiting.delete(id!);
    const moderator = this.presentModerator(waiting.room);
    if (moderator) this.options.effects.send(moderator, { type: 'knock-withdrawn', id: id! });
  }

  connectionClosed(connection: Connection, now: number): void {
    this.withdraw(connection);
    this.nextPassword.delete(connection.ref);
    // Queued checks of a closed connection need no worker; its running hash finishes and is dropped.
    this.queue.cancelWaiting((job) => job.connection === connection.ref && job.kind === 'check');
  }

  removed(room: string, id: ParticipantId, block: string | undefined, now: number): void {
    this.removals.set(`${room}\n${id}`, now + REMOVAL_MS);
    if (block !== undefined) this.removals.set(`${room}\n${block}`, now + REMOVAL_MS);
  }

  /** A new moderator also learns who knocks because of the throttle. */
  resendKnocks(moderator: ParticipantId): void {
    const room = this.options.rooms.roomOf(moderator);
    const connection = this.options.connections.of(moderator);
    if (room === undefined || !connection) return;
    for (const [id, waiting] of this.waiting) if (waiting.room === room) this.options.effects.send(connection, { type: 'knocking', participant: knocker(id, waiting.join) });
  }

  prune(now: number): void {
    for (const window of [this.guessesByBlock, this.guessesByRoom, this.joins, this.knocks, this.setPasswords]) window.prune(now);
    for (const [key, until] of this.removals) if (now > until) this.removals.delete(key);
    const hashing = new Set<string>();
    for (const ref of this.nextPassword.keys()) hashing.add(this.nextPassword.get(ref)!.room);
    for (const room of this.passwordVersion.keys()) if (!hashing.has(room) && !this.queue.has((job) => job.kind === 'set' && job.room === room)) this.passwordVersion.delete(room);
    for (const [id, waiting] of this.waiting) if (!this.options.connections.get(waiting.connection) || !this.presentModerator(waiting.room)) this.waiting.delete(id);
  }

  private checked(connection: Connection, job: Extract<HashJob, { kind: 'check' }>, matches: boolean, now: number): void {
    const id = connection.id!;
    if (!matches) throw new ProtocolError('wrong-password', 'wrong password');
    // A right password is no guess: it does not use up the budget of others at that address.
    this.guessesByBlock.forgive(connection.block, job.countedAt);
    this.guessesByRoom.forgive(job.join.room, job.countedAt);
    const current = this.options.rooms.passwordHashFor(job.join.room, { id, moderatorKey: job.join.moderatorKey, rejoin: job.join.rejoin }, now);
    if (current !== null && current !== job.against) throw new ProtocolError('wrong-password', 'the password was changed meanwhile');
    this.enter(connection, id, job.join, true, now);
  }

  private passwordHashed(connection: Connection, job: Extract<HashJob, { kind: 'set' }>, hash: string | null, now: number): void {
    if (hash && this.passwordVersion.get(job.room) === job.version) {
      this.options.delivery.deliver(this.options.rooms.setPassword(job.by, hash), now);
    }
    const next = this.nextPassword.get(connection.ref);
    if (!next) return;
    this.nextPassword.delete(connection.ref);
    this.startHash(connection, { kind: 'set', id: this.nextJob++, connection: connection.ref, address: connection.block, ...next });
  }

  /** Into the meeting (or Rooms' lobby), within the address's knock budget. */
  private enter(connection: Connection, id: ParticipantId, join: Join, passwordVerified: boolean, now: number, admitted = false): void {
    const { rooms } = this.options;
    const options = { passwordVerified, admitted, now, ...(join.moderatorKey ? { moderatorKey: join.moderatorKey } : {}), ...(join.rejoin ? { rejoin: join.rejoin } : {}), audioOnly: join.audioOnly === true };
    const outbox = rooms.join(id, join.room, join.name, [], options);
    const knocked = outbox.some(({ to, message }) => to === id && message.type === 'lobby-waiting');
    if (knocked && !this.knocks.take(connection.block, now)) {
      rooms.leave(id, now); // the knock is taken back before anyone heard of it
      throw new ProtocolError('rate-limited', 'too many knocks from your address: try again later');
    }
    this.options.delivery.deliver(outbox, now, join.rejoin && join.rejoin.participants.length > 0 ? id : undefined);
  }

  /** The meeting's guess budget is spent: knock, unchecked, rather than be locked out (attack 6). */
  private knockUnchecked(connection: Connection, id: ParticipantId, join: Join, now: number): void {
    const moderator = this.presentModerator(join.room);
    if (!moderator) throw new ProtocolError('too-many-attempts', 'too many wrong passwords for this meeting: try again later');
    if (!this.knocks.take(connection.block, now)) throw new ProtocolError('rate-limited', 'too many knocks from your address: try again later');
    this.options.counters.inc('refusals', 'meeting-under-attack');
    this.waiting.set(id, { connection: connection.ref, room: join.room, join });
    this.options.effects.send(connection, { type: 'lobby-waiting' });
    this.options.effects.send(moderator, { type: 'knocking', participant: knocker(id, join) });
  }

  private startHash(connection: Connection, job: HashJob): void {
    const verdict = this.queue.request(job);
    if (verdict === 'refused') throw new ProtocolError('rate-limited', 'the server is busy checking passwords: try again in a few seconds');
    connection.hashing = job;
    this.options.counters.inc('passwordHashes');
    if (verdict === 'start') this.options.effects.emit({ type: 'hash', job });
  }

  private isRemoved(room: string, id: ParticipantId, block: string, now: number): boolean {
    return [`${room}\n${id}`, `${room}\n${block}`].some((key) => (this.removals.get(key) ?? 0) >= now);
  }

  private presentModerator(room: string): Connection | undefined {
    const moderator = this.options.rooms.moderatorOf(room);
    if (moderator === undefined || this.options.rooms.roomOf(moderator) !== room) return undefined;
    return this.options.connections.of(moderator);
  }

  private requireModeratorOf(by: ParticipantId, room: string): void {
    this.options.rooms.requireModerator(by);
    if (this.options.rooms.roomOf(by) !== room) throw new ProtocolError('unknown-participant', 'nobody by that id is waiting');
  }

}

function knocker(id: ParticipantId, join: Join): Knocker {
  return { id, name: join.name, ...(join.audioOnly ? { audioOnly: true as const } : {}), passwordUnchecked: true };
}

const seconds = (ms: number) => Math.ceil(ms / 1000);

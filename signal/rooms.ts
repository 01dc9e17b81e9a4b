// Room state as pure logic: membership, moderator, lobby, lock, password gate, capacity and relay
// routing. No sockets, no clocks, no randomness of its own: every operation takes an event (and
// the time) and returns what to send to whom. What must outlive the process (a meeting's rules,
// moderator and members) is written to a MeetingStore after every change and read back when the
// meeting returns after a restart (issue 11).
//
// The parts: room.ts (one meeting's state and its stored record), room-rules.ts (the pure rules:
// seats, key reclaim, handover), room-directory.ts (which meetings run, who is where, the store),
// room-moderation.ts (what the moderator may do). The session core talks to Rooms only.

import { memoryMeetingStore, type MeetingStore } from './meeting-store.js';
import { ProtocolError, type IceServer, type Participant, type ParticipantId, type Rejoin, type SignalData } from './protocol.js';
import { REBUILD_WINDOW_MS, backFromBefore, newRoom, vouch, withoutIce, type Outbox, type Room } from './room.js';
import { RoomDirectory } from './room-directory.js';
import { Moderation } from './room-moderation.js';
import { reclaims, seatRefusal } from './room-rules.js';

export type { Outbox };

export interface RoomsOptions {
  /** A full mesh sends every stream to every peer; past about 8 video senders upload bandwidth runs out. */
  capacity: number;
  /**
   * Most members counting those who joined audio-only (no video: a few kbit/s each), at least
   * `capacity`. When a meeting has `capacity` video senders, a newcomer may still join audio-only.
   */
  audioOnlyCapacity?: number;
  /** Told to every joiner: what one participant uploads at most, in total (kbit/s). */
  uplinkBudgetKbps?: number;
  /** A fresh, unguessable moderator key for this meeting. */
  newKey: (room: string) => string;
  /** How long a moderator who left can come back with their key and take the role again. */
  reclaimGraceMs?: number;
  /** Where each meeting's rules, moderator and members outlive the process; by default, memory. */
  store?: MeetingStore;
  /** The time, for the records' `updatedAt` (the store forgets meetings nobody came back to). */
  clock?: () => number;
}

/** Who asks to join, as far as the gates before `join` need to know. */
export interface Joiner {
  id: ParticipantId;
  moderatorKey?: string | undefined;
  rejoin?: Rejoin | undefined;
}

export interface JoinOptions {
  /** The server checked the password against the room's hash before calling join. */
  passwordVerified?: boolean;
  moderatorKey?: string;
  now?: number;
  /** The joiner was in this meeting on a server that has since restarted. */
  rejoin?: Rejoin;
  /** The joiner sends no video. */
  audioOnly?: boolean;
  /** The moderator already let this joiner in (a knock the server took while guessing was throttled): no second knock. */
  admitted?: boolean;
}

const DEFAULT_RECLAIM_GRACE_MS = 60_000;

export { REBUILD_WINDOW_MS };
export class Rooms {
  private readonly directory: RoomDirectory;
  private readonly moderation: Moderation;

  constructor(private readonly options: RoomsOptions) {
    this.directory = new RoomDirectory(options.store ?? memoryMeetingStore(), options.clock ?? Date.now);
    this.moderation = new Moderation(this.directory, { ...options, leave: (id, now) => this.leave(id, now) });
  }

  get roomCount(): number {
    return this.directory.roomCount;
  }

  get participantCount(): number {
    return this.directory.memberCount;
  }

  /** Who moderates a running meeting (after a restart, possibly someone not back yet). */
  moderatorOf(roomName: string): ParticipantId | undefined {
    return this.directory.runningRoom(roomName)?.moderator;
  }

  /** The room name a participant is in, if any. */
  roomOf(id: ParticipantId): string | undefined {
    return this.directory.memberRoom(id)?.name;
  }

  /**
   * The hash this joiner's password must match before `join`, or null when it needs none: no
   * password set, a returning moderator's key, or a member vouched for while the meeting is rebuilt.
   */
  passwordHashFor(roomName: string, joiner: Joiner, now: number): string | null {
    const room = this.directory.find(roomName, now);
    if (!room || reclaims(room, joiner.moderatorKey, now)) return null;
    if (backFromBefore(room, joiner.id, now)) return null;
    return room.passwordHash;
  }

  /**
   * Time passing: ends rebuild windows. A rebuilt meeting whose moderator did not come back gets
   * the longest-present member as moderator; one nobody came back to (only knockers) ends.
   * Call a few times a second; returns what to send.
   */
  tick(now: number): Outbox {
    const outbox: Outbox = [];
    for (const room of this.directory.rooms()) {
      if (!room.rebuild || now <= room.rebuild.until) continue;
      room.rebuild = undefined;
      if (room.members.size === 0) outbox.push(...this.end(room));
      else if (!room.members.has(room.moderator)) outbox.push(...this.handOver(room, room.members.keys().next().value!));
      else this.directory.persist(room);
    }
    this.directory.pruneStore(now);
    return outbox;
  }

  /**
   * Joins (and on first join creates) a room. The joiner learns who is there; everyone else learns
   * of the joiner. With the lobby on, the joiner waits and the moderator is asked instead.
   */
  join(id: ParticipantId, roomName: string, name: string, iceServers: IceServer[], options: JoinOptions = {}): Outbox {
    if (this.directory.isPlaced(id)) throw new ProtocolError('already-in-room', 'you are already in a meeting');
    const now = options.now ?? 0;
    const participant: Participant = options.audioOnly ? { id, name, audioOnly: true } : { id, name };
    const rejoin = options.rejoin;
    // A meeting that ran before a restart comes back with its rules, moderator and members.
    const room = this.directory.find(roomName, now);
    if (!room) return this.create(roomName, participant, iceServers, now, rejoin);
    const rebuilding = room.rebuild && now <= room.rebuild.until ? room.rebuild : undefined;
    const returning = backFromBefore(room, id, now);
    const reclaim = reclaims(room, options.moderatorKey, now);
    if (!reclaim && !returning) {
      if (room.passwordHash && !options.passwordVerified) throw new ProtocolError('password-required', 'this meeting needs a password');
      if (room.locked) throw new ProtocolError('room-locked', 'the moderator has locked this meeting');
    }
    const refusal = seatRefusal(room, participant, this.options);
    if (refusal) throw refusal;
    this.directory.start(room);
    if (!reclaim && !returning && room.lobby && !options.admitted) {
      this.directory.addWaiting(room, { ...participant, iceServers });
      return [
        { to: id, message: { type: 'lobby-waiting' } },
        { to: room.moderator, message: { type: 'knocking', participant: withoutIce(participant) } },
      ];
    }
    if (rejoin) vouch(room, id, rejoin, now);
    // The meeting's moderator back after a restart, known by id (self-certifying) or by the key.
    const moderatorBack = rebuilding && !rebuilding.moderatorProven && (id === room.moderator || (reclaim && room.moderatorKey !== undefined));
    if (moderatorBack) {
      rebuilding.moderatorProven = true;
      room.moderator = id;
    }
    const outbox = this.seat(room, participant, iceServers);
    if (moderatorBack && room.moderatorKey !== undefined) {
      // With the key they kept: the role is theirs again, the key stays.
      this.directory.persist(room, true);
      for (const other of room.members.keys()) if (other !== id) outbox.push({ to: other, message: { type: 'moderator-changed', moderator: id } });
    } else if (moderatorBack || reclaim) {
      room.formerModerator = undefined;
      outbox.push(...this.handOver(room, id));
    }
    return outbox;
  }

  /** Removes a participant (explicit leave or lost connection). Idempotent. Deletes the room with its last member. */
  leave(id: ParticipantId, now = 0): Outbox {
    const waitingIn = this.directory.waitingRoom(id);
    if (waitingIn) {
      this.directory.removeWaiting(waitingIn, id);
      return [{ to: waitingIn.moderator, message: { type: 'knock-withdrawn', id } }];
    }
    const room = this.directory.memberRoom(id);
    if (!room) return [];
    this.directory.removeMember(room, id);
    if (room.members.size === 0) return this.end(room);
    const outbox: Outbox = [];
    for (const other of room.members.keys()) outbox.push({ to: other, message: { type: 'participant-left', id } });
    if (room.moderator === id) {
      room.formerModerator = { keyHash: room.moderatorKeyHash, until: now + (this.options.reclaimGraceMs ?? DEFAULT_RECLAIM_GRACE_MS) };
      outbox.push(...this.handOver(room, room.members.keys().next().value!));
    } else this.directory.membersChanged(room);
    return outbox;
  }

  /** Passes signal data to another member of the sender's room, stamped with the true sender. */
  relay(from: ParticipantId, to: ParticipantId, data: SignalData): Outbox {
    const room = this.directory.memberRoom(from);
    if (!room) throw new ProtocolError('not-in-room', 'join a meeting before signalling');
    if (to === from || !room.members.has(to)) {
      throw new ProtocolError('unknown-participant', 'no such participant in your meeting');
    }
    return [{ to, message: { type: 'signal', from, data } }];
  }

  // Moderator actions (room-moderation.ts): each checks the sender moderates the room it acts on.

  requireModerator(id: ParticipantId): void { this.moderation.requireModerator(id); }
  setPassword(by: ParticipantId, passwordHash: string | null): Outbox { return this.moderation.setPassword(by, passwordHash); }
  makeModerator(by: ParticipantId, target: ParticipantId): Outbox { return this.moderation.makeModerator(by, target); }
  remove(by: ParticipantId, target: ParticipantId, now = 0): Outbox { return this.moderation.remove(by, target, now); }
  muteAll(by: ParticipantId): Outbox { return this.moderation.muteAll(by); }
  setLocked(by: ParticipantId, locked: boolean): Outbox { return this.moderation.setLocked(by, locked); }
  /** Turning the lobby off lets in everyone who is waiting, as far as there is room. */
  setLobby(by: ParticipantId, enabled: boolean): Outbox { return this.moderation.setLobby(by, enabled); }
  admitFromLobby(by: ParticipantId, target: ParticipantId): Outbox { return this.moderation.admitFromLobby(by, target); }
  decline(by: ParticipantId, target: ParticipantId): Outbox { return this.moderation.decline(by, target); }

  /** A meeting nobody runs: the joiner creates it (after a restart without a record, a rejoiner rebuilds it). */
  private create(roomName: string, participant: Participant, iceServers: IceServer[], now: number, rejoin: Rejoin | undefined): Outbox {
    const created = newRoom(roomName, participant.id, this.options.newKey(roomName), rejoin ? now + REBUILD_WINDOW_MS : undefined);
    this.directory.start(created);
    if (rejoin) vouch(created, participant.id, rejoin, now);
    return this.seat(created, participant, iceServers);
  }

  private seat(room: Room, participant: Participant, iceServers: IceServer[]): Outbox {
    return this.directory.seat(room, participant, iceServers, this.options.uplinkBudgetKbps);
  }

  private handOver(room: Room, to: ParticipantId): Outbox {
    return this.moderation.handOver(room, to);
  }

  private end(room: Room): Outbox {
    return this.directory.end(room).map((id) => ({ to: id, message: { type: 'error', code: 'declined', message: 'the meeting ended before you were let in' } }));
  }
}

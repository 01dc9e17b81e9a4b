// Room state as pure logic: membership, moderator, lobby, lock, password gate, capacity and relay
// routing. No sockets, no clocks, no randomness of its own: every operation takes an event (and
// the time) and returns what to send to whom. What must outlive the process (a meeting's rules,
// moderator and members) is written to a MeetingStore after every change and read back when the
// meeting returns after a restart (issue 11).

import { memoryMeetingStore, type MeetingStore } from './meeting-store.js';
import { REBUILD_WINDOW_MS, backFromBefore, keyHash, newRoom, recordOf, roomFromRecord, settingsOf, vouch, withoutIce, type Room } from './room.js';
import {
  ProtocolError,
  type IceServer,
  type Participant,
  type ParticipantId,
  type Rejoin,
  type ServerMessage,
  type SignalData,
} from './protocol.js';

export type Outbox = Array<{ to: ParticipantId; message: ServerMessage }>;

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
  private readonly rooms = new Map<string, Room>();
  private readonly roomOfMember = new Map<ParticipantId, Room>();
  private readonly roomOfWaiting = new Map<ParticipantId, Room>();
  private readonly store: MeetingStore;
  private readonly clock: () => number;
  /** Stored meetings nobody comes back to are forgotten once the first rebuild window is over. */
  private readonly startedAt: number;
  private pruned = false;

  constructor(private readonly options: RoomsOptions) {
    this.store = options.store ?? memoryMeetingStore();
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  get participantCount(): number {
    return this.roomOfMember.size;
  }

  /** Who moderates a running meeting (after a restart, possibly someone not back yet). */
  moderatorOf(roomName: string): ParticipantId | undefined {
    return this.rooms.get(roomName)?.moderator;
  }

  /** The room name a participant is in, if any. */
  roomOf(id: ParticipantId): string | undefined {
    return this.roomOfMember.get(id)?.name;
  }

  /**
   * The hash this joiner's password must match before `join`, or null when it needs none: no
   * password set, a returning moderator's key, or a member vouched for while the meeting is rebuilt.
   */
  passwordHashFor(roomName: string, joiner: Joiner, now: number): string | null {
    const room = this.rooms.get(roomName) ?? this.restorable(roomName, now);
    if (!room || this.reclaims(room, joiner.moderatorKey, now)) return null;
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
    for (const room of [...this.rooms.values()]) {
      if (!room.rebuild || now <= room.rebuild.until) continue;
      room.rebuild = undefined;
      if (room.members.size === 0) outbox.push(...this.deleteRoom(room));
      else if (!room.members.has(room.moderator)) outbox.push(...this.handOver(room, room.members.keys().next().value!));
      else this.persist(room);
    }
    if (!this.pruned && now > this.startedAt + REBUILD_WINDOW_MS) {
      this.pruned = true;
      this.store.prune(this.startedAt);
    }
    return outbox;
  }

  /**
   * Joins (and on first join creates) a room. The joiner learns who is there; everyone else learns
   * of the joiner. With the lobby on, the joiner waits and the moderator is asked instead.
   */
  join(id: ParticipantId, roomName: string, name: string, iceServers: IceServer[], options: JoinOptions = {}): Outbox {
    if (this.roomOfMember.has(id) || this.roomOfWaiting.has(id)) throw new ProtocolError('already-in-room', 'you are already in a meeting');
    const now = options.now ?? 0;
    const participant: Participant = options.audioOnly ? { id, name, audioOnly: true } : { id, name };
    const rejoin = options.rejoin;
    const running = this.rooms.get(roomName);
    // A meeting that ran before a restart comes back with its rules, moderator and members.
    const room = running ?? this.restorable(roomName, now);
    if (!room) return this.create(roomName, participant, iceServers, now, rejoin);
    const rebuilding = room.rebuild && now <= room.rebuild.until ? room.rebuild : undefined;
    const returning = backFromBefore(room, id, now);
    const reclaim = this.reclaims(room, options.moderatorKey, now);
    if (!reclaim && !returning) {
      if (room.passwordHash && !options.passwordVerified) throw new ProtocolError('password-required', 'this meeting needs a password');
      if (room.locked) throw new ProtocolError('room-locked', 'the moderator has locked this meeting');
    }
    const refusal = this.seatRefusal(room, participant);
    if (refusal) throw refusal;
    if (!running) {
      this.store.take(roomName);
      this.rooms.set(roomName, room);
    }
    if (!reclaim && !returning && room.lobby && !options.admitted) {
      room.waiting.set(id, { ...participant, iceServers });
      this.roomOfWaiting.set(id, room);
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
    const outbox = this.admit(room, participant, iceServers);
    if (moderatorBack && room.moderatorKey !== undefined) {
      // With the key they kept: the role is theirs again, the key stays.
      this.persist(room, true);
      for (const other of room.members.keys()) if (other !== id) outbox.push({ to: other, message: { type: 'moderator-changed', moderator: id } });
    } else if (moderatorBack || reclaim) {
      room.formerModerator = undefined;
      outbox.push(...this.handOver(room, id));
    }
    return outbox;
  }

  /** A meeting nobody runs: the joiner creates it (after a restart without a record, a rejoiner rebuilds it). */
  private create(roomName: string, participant: Participant, iceServers: IceServer[], now: number, rejoin: Rejoin | undefined): Outbox {
    const created = newRoom(roomName, participant.id, this.options.newKey(roomName), rejoin ? now + REBUILD_WINDOW_MS : undefined);
    this.rooms.set(roomName, created);
    if (rejoin) vouch(created, participant.id, rejoin, now);
    return this.admit(created, participant, iceServers);
  }

  /** The stored meeting of this name as a room (not yet running: `join` decides whether it is let in). */
  private restorable(roomName: string, now: number): Room | undefined {
    const record = this.store.peek(roomName);
    return record && roomFromRecord(roomName, record, now);
  }

  /** Writes what must survive a restart; `urgent` for rules and moderator (on disk before anyone is told). */
  private persist(room: Room, urgent = false): void {
    this.store.save(room.name, recordOf(room, this.clock()), urgent);
  }

  /** Removes a participant (explicit leave or lost connection). Idempotent. Deletes the room with its last member. */
  leave(id: ParticipantId, now = 0): Outbox {
    const waitingIn = this.roomOfWaiting.get(id);
    if (waitingIn) {
      waitingIn.waiting.delete(id);
      this.roomOfWaiting.delete(id);
      return [{ to: waitingIn.moderator, message: { type: 'knock-withdrawn', id } }];
    }
    const room = this.roomOfMember.get(id);
    if (!room) return [];
    room.members.delete(id);
    this.roomOfMember.delete(id);
    if (room.members.size === 0) return this.deleteRoom(room);
    const outbox: Outbox = [];
    for (const other of room.members.keys()) outbox.push({ to: other, message: { type: 'participant-left', id } });
    if (room.moderator === id) {
      room.formerModerator = { keyHash: room.moderatorKeyHash, until: now + (this.options.reclaimGraceMs ?? DEFAULT_RECLAIM_GRACE_MS) };
      outbox.push(...this.handOver(room, room.members.keys().next().value!));
    } else this.membersChanged(room);
    return outbox;
  }

  /** Passes signal data to another member of the sender's room, stamped with the true sender. */
  relay(from: ParticipantId, to: ParticipantId, data: SignalData): Outbox {
    const room = this.roomOfMember.get(from);
    if (!room) throw new ProtocolError('not-in-room', 'join a meeting before signalling');
    if (to === from || !room.members.has(to)) {
      throw new ProtocolError('unknown-participant', 'no such participant in your meeting');
    }
    return [{ to, message: { type: 'signal', from, data } }];
  }

  // Moderator actions. Each checks the sender really is the moderator of the room it acts on.

  /** For work the server does before a moderator action (hashing a password): refuse early. */
  requireModerator(id: ParticipantId): void {
    this.moderatedBy(id);
  }

  setPassword(by: ParticipantId, passwordHash: string | null): Outbox {
    const room = this.moderatedBy(by);
    room.passwordHash = passwordHash;
    return this.settingsChanged(room);
  }

  makeModerator(by: ParticipantId, target: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    this.requireMember(room, target);
    if (target === by) return [];
    return this.handOver(room, target);
  }

  remove(by: ParticipantId, target: ParticipantId, now = 0): Outbox {
    const room = this.moderatedBy(by);
    this.requireMember(room, target);
    if (target === by) throw new ProtocolError('unknown-participant', 'to leave, use leave');
    room.rebuild?.vouched.delete(target);
    const outbox: Outbox = [{ to: target, message: { type: 'removed' } }, ...this.leave(target, now)];
    // Whoever was removed is no member to let back in after a restart, in any meeting.
    if (this.rooms.get(room.name) === room) this.persist(room, true);
    return outbox;
  }

  muteAll(by: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    return [...room.members.keys()].filter((id) => id !== by).map((to) => ({ to, message: { type: 'mute-request' } }));
  }

  setLocked(by: ParticipantId, locked: boolean): Outbox {
    const room = this.moderatedBy(by);
    room.locked = locked;
    return this.settingsChanged(room);
  }

  /** Turning the lobby off lets in everyone who is waiting, as far as there is room. */
  setLobby(by: ParticipantId, enabled: boolean): Outbox {
    const room = this.moderatedBy(by);
    room.lobby = enabled;
    const outbox = this.settingsChanged(room);
    if (!enabled) for (const id of [...room.waiting.keys()]) outbox.push(...this.admitWaiting(room, id));
    return outbox;
  }

  admitFromLobby(by: ParticipantId, target: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    const waiting = room.waiting.get(target);
    if (!waiting) throw new ProtocolError('unknown-participant', 'nobody by that id is waiting');
    // The same seat rules as at the door: an audio-only knocker fits where a video sender does not.
    const refusal = this.seatRefusal(room, waiting);
    if (refusal) throw refusal;
    return this.admitWaiting(room, target);
  }

  decline(by: ParticipantId, target: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    if (!room.waiting.delete(target)) throw new ProtocolError('unknown-participant', 'nobody by that id is waiting');
    this.roomOfWaiting.delete(target);
    return [{ to: target, message: { type: 'error', code: 'declined', message: 'the moderator did not let you in' } }];
  }

  private reclaims(room: Room, key: string | undefined, now: number): boolean {
    if (!key) return false;
    const hash = keyHash(key);
    const reclaimed = hash === room.moderatorKeyHash || (room.formerModerator?.keyHash === hash && now <= room.formerModerator.until);
    // The moderator's own browser proves its key; it gets that key back in `joined`.
    if (reclaimed && hash === room.moderatorKeyHash) room.moderatorKey = key;
    return reclaimed;
  }

  private admit(room: Room, participant: Participant, iceServers: IceServer[]): Outbox {
    const others = [...room.members.values()];
    room.members.set(participant.id, participant);
    this.roomOfMember.set(participant.id, room);
    const joined: ServerMessage = {
      type: 'joined',
      room: room.name,
      you: participant.id,
      participants: others,
      moderator: room.moderator,
      iceServers,
      settings: settingsOf(room),
    };
    if (room.moderator === participant.id && room.moderatorKey !== undefined) joined.moderatorKey = room.moderatorKey;
    if (this.options.uplinkBudgetKbps !== undefined) joined.uplinkBudgetKbps = this.options.uplinkBudgetKbps;
    const outbox: Outbox = [{ to: participant.id, message: joined }];
    for (const other of others) outbox.push({ to: other.id, message: { type: 'participant-joined', participant } });
    // A new meeting's record names its moderator at once: no stranger may take the role after a crash.
    if (others.length === 0) this.persist(room);
    else this.membersChanged(room);
    return outbox;
  }

  /**
   * Members matter after a restart only where there are gates to pass (password, lock, lobby) or
   * the meeting is being rebuilt: elsewhere a join costs no disk write (0.2–1 ms each, measured).
   * Setting a rule writes the members of that moment.
   */
  private membersChanged(room: Room): void {
    if (room.passwordHash !== null || room.locked || room.lobby || room.rebuild) this.persist(room);
  }

  /** Why the meeting has no seat for this participant (none at all, or none for another video sender), or null. */
  private seatRefusal(room: Room, participant: Participant): ProtocolError | null {
    const { capacity } = this.options;
    const total = Math.max(capacity, this.options.audioOnlyCapacity ?? capacity);
    if (room.members.size >= total) return new ProtocolError('room-full', `the meeting is full (${total} participants)`);
    if (participant.audioOnly) return null;
    // With no listener seats, a meeting full of video senders was already refused above.
    const senders = [...room.members.values()].filter((member) => !member.audioOnly).length;
    return senders < capacity ? null : new ProtocolError('room-full-video', `the meeting is full for video (${capacity} participants); you can join audio-only`);
  }

  private admitWaiting(room: Room, id: ParticipantId): Outbox {
    const waiting = room.waiting.get(id);
    if (!waiting || this.seatRefusal(room, waiting)) return [];
    room.waiting.delete(id);
    this.roomOfWaiting.delete(id);
    const { iceServers, ...participant } = waiting;
    return this.admit(room, participant, iceServers);
  }

  /** Gives the role to `to` with a fresh key only they know, and the list of people waiting. */
  private handOver(room: Room, to: ParticipantId): Outbox {
    room.moderator = to;
    // A key the role moved away from stops working, also after a restart (only the new hash is stored).
    room.moderatorKey = this.options.newKey(room.name);
    room.moderatorKeyHash = keyHash(room.moderatorKey);
    if (room.rebuild) room.rebuild.moderatorProven = true;
    this.persist(room, true);
    const outbox: Outbox = [...room.members.keys()].map((id) => ({ to: id, message: { type: 'moderator-changed', moderator: to } }));
    outbox.push({ to, message: { type: 'moderator-key', key: room.moderatorKey } });
    for (const waiting of room.waiting.values()) outbox.push({ to, message: { type: 'knocking', participant: withoutIce(waiting) } });
    return outbox;
  }


  private deleteRoom(room: Room): Outbox {
    this.rooms.delete(room.name);
    // The meeting is over: its keys and rules go with it.
    this.store.remove(room.name);
    const outbox: Outbox = [];
    for (const id of room.waiting.keys()) {
      this.roomOfWaiting.delete(id);
      outbox.push({ to: id, message: { type: 'error', code: 'declined', message: 'the meeting ended before you were let in' } });
    }
    return outbox;
  }

  private moderatedBy(id: ParticipantId): Room {
    const room = this.roomOfMember.get(id);
    if (!room) throw new ProtocolError('not-in-room', 'join a meeting first');
    if (room.moderator !== id) throw new ProtocolError('not-moderator', 'only the moderator can do that');
    return room;
  }

  private requireMember(room: Room, id: ParticipantId): void {
    if (!room.members.has(id)) throw new ProtocolError('unknown-participant', 'no such participant in your meeting');
  }

  private settingsChanged(room: Room): Outbox {
    this.persist(room, true);
    const settings = settingsOf(room);
    return [...room.members.keys()].map((to) => ({ to, message: { type: 'room-settings', settings } }));
  }
}


// Which meetings run in this process and who is where (a member, or waiting in a lobby), and the
// store each meeting is written to so that it outlives a restart (issue 11). Bookkeeping: Rooms
// and Moderation decide; the directory applies a change (room-rules.ts) and keeps the maps and the
// store in step with it.

import type { MeetingStore } from './meeting-store.js';
import type { IceServer, Participant, ParticipantId } from './protocol.js';
import { REBUILD_WINDOW_MS, recordOf, roomFromRecord, type Outbox, type Room, type Waiting } from './room.js';
import { handOver, seat, settingsChanged } from './room-rules.js';

export class RoomDirectory {
  private readonly running = new Map<string, Room>();
  private readonly roomOfMember = new Map<ParticipantId, Room>();
  private readonly roomOfWaiting = new Map<ParticipantId, Room>();
  /** Stored meetings nobody comes back to are forgotten once the first rebuild window is over. */
  private readonly startedAt: number;
  private pruned = false;

  constructor(
    private readonly store: MeetingStore,
    private readonly clock: () => number,
  ) {
    this.startedAt = clock();
  }

  get roomCount(): number {
    return this.running.size;
  }

  get memberCount(): number {
    return this.roomOfMember.size;
  }

  rooms(): Room[] {
    return [...this.running.values()];
  }

  runningRoom(name: string): Room | undefined {
    return this.running.get(name);
  }

  /** The running meeting of this name, or its stored record as a room (not yet running: `start` runs it). */
  find(name: string, now: number): Room | undefined {
    const running = this.running.get(name);
    if (running) return running;
    const record = this.store.peek(name);
    return record && roomFromRecord(name, record, now);
  }

  isRunning(room: Room): boolean {
    return this.running.get(room.name) === room;
  }

  /** Runs a new or restored meeting here; a stored record no longer waits to be restored. */
  start(room: Room): void {
    if (this.isRunning(room)) return;
    this.store.take(room.name);
    this.running.set(room.name, room);
  }

  memberRoom(id: ParticipantId): Room | undefined {
    return this.roomOfMember.get(id);
  }

  waitingRoom(id: ParticipantId): Room | undefined {
    return this.roomOfWaiting.get(id);
  }

  /** In a meeting or in its lobby: nobody is in two places at once. */
  isPlaced(id: ParticipantId): boolean {
    return this.roomOfMember.has(id) || this.roomOfWaiting.has(id);
  }

  /** Seats a participant (room-rules `seat`) and writes the meeting where that matters. */
  seat(room: Room, participant: Participant, iceServers: IceServer[], uplinkBudgetKbps: number | undefined): Outbox {
    const outbox = seat(room, participant, iceServers, uplinkBudgetKbps);
    this.roomOfMember.set(participant.id, room);
    // A new meeting's record names its moderator at once: no stranger may take the role after a crash.
    if (room.members.size === 1) this.persist(room);
    else this.membersChanged(room);
    return outbox;
  }

  /** The role moves to `to` with the fresh key `newKey`: on disk before anyone is told. */
  handOver(room: Room, to: ParticipantId, newKey: string): Outbox {
    const outbox = handOver(room, to, newKey);
    this.persist(room, true);
    return outbox;
  }

  /** A rule changed (password, lock, lobby): on disk before the members are told. */
  settingsChanged(room: Room): Outbox {
    this.persist(room, true);
    return settingsChanged(room);
  }

  removeMember(room: Room, id: ParticipantId): void {
    room.members.delete(id);
    this.roomOfMember.delete(id);
  }

  addWaiting(room: Room, waiting: Waiting): void {
    room.waiting.set(waiting.id, waiting);
    this.roomOfWaiting.set(waiting.id, room);
  }

  /** False when nobody by that id waits in this room. */
  removeWaiting(room: Room, id: ParticipantId): boolean {
    if (!room.waiting.delete(id)) return false;
    this.roomOfWaiting.delete(id);
    return true;
  }

  /** The meeting is over: its keys and rules go with it. Returns who was still waiting. */
  end(room: Room): ParticipantId[] {
    this.running.delete(room.name);
    this.store.remove(room.name);
    const waiting = [...room.waiting.keys()];
    for (const id of waiting) this.roomOfWaiting.delete(id);
    return waiting;
  }

  /** Writes what must survive a restart; `urgent` for rules and moderator (on disk before anyone is told). */
  persist(room: Room, urgent = false): void {
    this.store.save(room.name, recordOf(room, this.clock()), urgent);
  }

  /**
   * Members matter after a restart only where there are gates to pass (password, lock, lobby) or
   * the meeting is being rebuilt: elsewhere a join costs no disk write (0.2–1 ms each, measured).
   * Setting a rule writes the members of that moment.
   */
  membersChanged(room: Room): void {
    if (room.passwordHash !== null || room.locked || room.lobby || room.rebuild) this.persist(room);
  }

  /** Once the first rebuild window is over, stored meetings nobody came back to are forgotten. */
  pruneStore(now: number): void {
    if (this.pruned || now <= this.startedAt + REBUILD_WINDOW_MS) return;
    this.pruned = true;
    this.store.prune(this.startedAt);
  }
}

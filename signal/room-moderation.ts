// What a meeting's moderator may do: set the password, hand the role on, remove someone, ask
// everyone to mute, lock the meeting, run its lobby (admit or decline who knocks). Each action
// first checks that the sender really moderates the room it acts on, and returns what to send.

import { ProtocolError, type ParticipantId } from './protocol.js';
import type { Outbox, Room } from './room.js';
import type { RoomDirectory } from './room-directory.js';
import { seatRefusal, type SeatLimits } from './room-rules.js';

export interface ModerationOptions extends SeatLimits {
  newKey: (room: string) => string;
  uplinkBudgetKbps?: number | undefined;
  /** How a member leaves (Rooms.leave): a removal is a leave the member did not choose. */
  leave: (id: ParticipantId, now: number) => Outbox;
}

export class Moderation {
  constructor(
    private readonly directory: RoomDirectory,
    private readonly options: ModerationOptions,
  ) {}

  /** For work the server does before a moderator action (hashing a password): refuse early. */
  requireModerator(id: ParticipantId): void {
    this.moderatedBy(id);
  }

  setPassword(by: ParticipantId, passwordHash: string | null): Outbox {
    const room = this.moderatedBy(by);
    room.passwordHash = passwordHash;
    return this.directory.settingsChanged(room);
  }

  makeModerator(by: ParticipantId, target: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    this.requireMember(room, target);
    if (target === by) return [];
    return this.handOver(room, target);
  }

  remove(by: ParticipantId, target: ParticipantId, now: number): Outbox {
    const room = this.moderatedBy(by);
    this.requireMember(room, target);
    if (target === by) throw new ProtocolError('unknown-participant', 'to leave, use leave');
    room.rebuild?.vouched.delete(target);
    const outbox: Outbox = [{ to: target, message: { type: 'removed' } }, ...this.options.leave(target, now)];
    // Whoever was removed is no member to let back in after a restart, in any meeting.
    if (this.directory.isRunning(room)) this.directory.persist(room, true);
    return outbox;
  }

  muteAll(by: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    return [...room.members.keys()].filter((id) => id !== by).map((to) => ({ to, message: { type: 'mute-request' } }));
  }

  setLocked(by: ParticipantId, locked: boolean): Outbox {
    const room = this.moderatedBy(by);
    room.locked = locked;
    return this.directory.settingsChanged(room);
  }

  /** Turning the lobby off lets in everyone who is waiting, as far as there is room. */
  setLobby(by: ParticipantId, enabled: boolean): Outbox {
    const room = this.moderatedBy(by);
    room.lobby = enabled;
    const outbox = this.directory.settingsChanged(room);
    if (!enabled) for (const id of [...room.waiting.keys()]) outbox.push(...this.letIn(room, id));
    return outbox;
  }

  admitFromLobby(by: ParticipantId, target: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    const waiting = room.waiting.get(target);
    if (!waiting) throw new ProtocolError('unknown-participant', 'nobody by that id is waiting');
    // The same seat rules as at the door: an audio-only knocker fits where a video sender does not.
    const refusal = seatRefusal(room, waiting, this.options);
    if (refusal) throw refusal;
    return this.letIn(room, target);
  }

  decline(by: ParticipantId, target: ParticipantId): Outbox {
    const room = this.moderatedBy(by);
    if (!this.directory.removeWaiting(room, target)) throw new ProtocolError('unknown-participant', 'nobody by that id is waiting');
    return [{ to: target, message: { type: 'error', code: 'declined', message: 'the moderator did not let you in' } }];
  }

  /** Gives the role to `to` with a fresh key only they know (also when the moderator left or did not come back). */
  handOver(room: Room, to: ParticipantId): Outbox {
    return this.directory.handOver(room, to, this.options.newKey(room.name));
  }

  /** From the lobby into the meeting, if the seat rules let them in; nothing otherwise. */
  private letIn(room: Room, id: ParticipantId): Outbox {
    const waiting = room.waiting.get(id);
    if (!waiting || seatRefusal(room, waiting, this.options)) return [];
    this.directory.removeWaiting(room, id);
    const { iceServers, ...participant } = waiting;
    return this.directory.seat(room, participant, iceServers, this.options.uplinkBudgetKbps);
  }

  private moderatedBy(id: ParticipantId): Room {
    const room = this.directory.memberRoom(id);
    if (!room) throw new ProtocolError('not-in-room', 'join a meeting first');
    if (room.moderator !== id) throw new ProtocolError('not-moderator', 'only the moderator can do that');
    return room;
  }

  private requireMember(room: Room, id: ParticipantId): void {
    if (!room.members.has(id)) throw new ProtocolError('unknown-participant', 'no such participant in your meeting');
  }
}

// Room state as pure logic: membership, moderator, capacity and relay routing.
// No sockets and no timers: every operation takes an event and returns what to send to whom.

import { ProtocolError, type IceServer, type Participant, type ParticipantId, type ServerMessage, type SignalData } from './protocol.js';

export type Outbox = Array<{ to: ParticipantId; message: ServerMessage }>;

interface Room {
  name: string;
  /** In order of joining: the longest-present member comes first. */
  members: Map<ParticipantId, Participant>;
  moderator: ParticipantId;
}

export interface RoomsOptions {
  /** A full mesh sends every stream to every peer; past about 8 people upload bandwidth runs out. */
  capacity: number;
}

export class Rooms {
  private readonly rooms = new Map<string, Room>();
  private readonly roomOfMember = new Map<ParticipantId, Room>();

  constructor(private readonly options: RoomsOptions) {}

  get roomCount(): number {
    return this.rooms.size;
  }

  get participantCount(): number {
    return this.roomOfMember.size;
  }

  /** The room name a participant is in, if any. */
  roomOf(id: ParticipantId): string | undefined {
    return this.roomOfMember.get(id)?.name;
  }

  /** Joins (and on first join creates) a room. The joiner learns who is there; everyone else learns of the joiner. */
  join(id: ParticipantId, roomName: string, name: string, iceServers: IceServer[]): Outbox {
    if (this.roomOfMember.has(id)) throw new ProtocolError('already-in-room', 'you are already in a meeting');
    let room = this.rooms.get(roomName);
    if (room && room.members.size >= this.options.capacity) {
      throw new ProtocolError('room-full', `the meeting is full (${this.options.capacity} participants)`);
    }
    if (!room) {
      room = { name: roomName, members: new Map(), moderator: id };
      this.rooms.set(roomName, room);
    }
    const participant: Participant = { id, name };
    const others = [...room.members.values()];
    room.members.set(id, participant);
    this.roomOfMember.set(id, room);

    const outbox: Outbox = [
      { to: id, message: { type: 'joined', room: room.name, you: id, participants: others, moderator: room.moderator, iceServers } },
    ];
    for (const other of others) outbox.push({ to: other.id, message: { type: 'participant-joined', participant } });
    return outbox;
  }

  /** Removes a participant (explicit leave or lost connection). Idempotent. Deletes the room with its last member. */
  leave(id: ParticipantId): Outbox {
    const room = this.roomOfMember.get(id);
    if (!room) return [];
    room.members.delete(id);
    this.roomOfMember.delete(id);
    if (room.members.size === 0) {
      this.rooms.delete(room.name);
      return [];
    }
    const outbox: Outbox = [];
    const remaining = [...room.members.keys()];
    for (const other of remaining) outbox.push({ to: other, message: { type: 'participant-left', id } });
    if (room.moderator === id) {
      room.moderator = remaining[0]!;
      for (const other of remaining) outbox.push({ to: other, message: { type: 'moderator-changed', moderator: room.moderator } });
    }
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
}

// The pure rules of one meeting, for Rooms: who fits (the seat rules for video senders and
// listeners), who proves the moderator role with a key, how the role is handed over, and what
// members are told when someone is seated or the rules change. Each takes a Room and returns the
// messages to send; none writes the store (Rooms does, after).

import { keyHash, settingsOf, withoutIce, type Outbox, type Room } from './room.js';
import { ProtocolError, type IceServer, type Participant, type ServerMessage } from './protocol.js';

export interface SeatLimits {
  /** Video senders at most. */
  capacity: number;
  /** Members at most counting listeners (audio-only); at least `capacity`. */
  audioOnlyCapacity?: number | undefined;
}

/** Why the meeting has no seat for this participant (none at all, or none for another video sender), or null. */
export function seatRefusal(room: Room, participant: Participant, { capacity, audioOnlyCapacity }: SeatLimits): ProtocolError | null {
  const total = Math.max(capacity, audioOnlyCapacity ?? capacity);
  if (room.members.size >= total) return new ProtocolError('room-full', `the meeting is full (${total} participants)`);
  if (participant.audioOnly) return null;
  // With no listener seats, a meeting full of video senders was already refused above.
  const senders = [...room.members.values()].filter((member) => !member.audioOnly).length;
  return senders < capacity ? null : new ProtocolError('room-full-video', `the meeting is full for video (${capacity} participants); you can join audio-only`);
}

/**
 * Whether this key proves the moderator role: the current key, or a moderator's who just left
 * (within its grace). The moderator's own browser proves its key; it gets that key back in `joined`.
 */
export function reclaims(room: Room, key: string | undefined, now: number): boolean {
  if (!key) return false;
  const hash = keyHash(key);
  const reclaimed = hash === room.moderatorKeyHash || (room.formerModerator?.keyHash === hash && now <= room.formerModerator.until);
  if (reclaimed && hash === room.moderatorKeyHash) room.moderatorKey = key;
  return reclaimed;
}

/** Seats a participant in the room: they learn who is there, everyone else learns of them. */
export function seat(room: Room, participant: Participant, iceServers: IceServer[], uplinkBudgetKbps: number | undefined): Outbox {
  const others = [...room.members.values()];
  room.members.set(participant.id, participant);
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
  if (uplinkBudgetKbps !== undefined) joined.uplinkBudgetKbps = uplinkBudgetKbps;
  const outbox: Outbox = [{ to: participant.id, message: joined }];
  for (const other of others) outbox.push({ to: other.id, message: { type: 'participant-joined', participant } });
  return outbox;
}

/** Gives the role to `to` with a fresh key (`newKey`) only they know, and the list of people waiting. */
export function handOver(room: Room, to: Participant['id'], newKey: string): Outbox {
  room.moderator = to;
  // A key the role moved away from stops working, also after a restart (only the new hash is stored).
  room.moderatorKey = newKey;
  room.moderatorKeyHash = keyHash(newKey);
  if (room.rebuild) room.rebuild.moderatorProven = true;
  const outbox: Outbox = [...room.members.keys()].map((id) => ({ to: id, message: { type: 'moderator-changed', moderator: to } }));
  outbox.push({ to, message: { type: 'moderator-key', key: newKey } });
  // withoutIce keeps `audioOnly`: the new moderator sees who knocks audio-only, as the old one did.
  for (const waiting of room.waiting.values()) outbox.push({ to, message: { type: 'knocking', participant: withoutIce(waiting) } });
  return outbox;
}

/** Every member learns the meeting's rules (lock, lobby, whether a password is set). */
export function settingsChanged(room: Room): Outbox {
  const settings = settingsOf(room);
  return [...room.members.keys()].map((to) => ({ to, message: { type: 'room-settings', settings } }));
}

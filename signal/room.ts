// One meeting's state as Rooms keeps it, and the pure pieces around it: creating one, bringing
// one back from its store record after a restart, writing that record, the rebuild window, and
// what members and knockers may be told.

import { createHash } from 'node:crypto';
import type { MeetingRecord } from './meeting-store.js';
import type { IceServer, Participant, ParticipantId, Rejoin, RoomSettings, ServerMessage } from './protocol.js';

/** What to send to whom: every room operation returns one; the session core delivers it. */
export type Outbox = Array<{ to: ParticipantId; message: ServerMessage }>;

export interface Waiting extends Participant {
  iceServers: IceServer[];
}

export interface Room {
  name: string;
  /** In order of joining: the longest-present member comes first. */
  members: Map<ParticipantId, Participant>;
  /** After a restart, until the moderator is back (or the rebuild window ends), someone not present. */
  moderator: ParticipantId;
  /** Proves the moderator role after a reload of the same tab: only its hash is kept and stored. */
  moderatorKeyHash: string;
  /** The key itself, when it was issued by this process or shown by the moderator since. */
  moderatorKey: string | undefined;
  /** The key of a moderator who just left: honoured for a grace period, so a reload gets the role back. */
  formerModerator: { keyHash: string; until: number } | undefined;
  locked: boolean;
  lobby: boolean;
  /** A salted scrypt hash, never the password; forgotten with the room. */
  passwordHash: string | null;
  /** People who knocked while the lobby is on, in order of knocking. */
  waiting: Map<ParticipantId, Waiting>;
  /**
   * Set while a meeting is rebuilt after a server restart (restored from the store, or created by
   * a rejoin): until when, who may come back past the gates (the stored members, and those a
   * returning member vouched for), and whether the moderator is back.
   */
  rebuild: { until: number; vouched: Set<ParticipantId>; moderatorProven: boolean } | undefined;
}

/** How long after a restart members coming back may vouch for each other (covers the 15 s backoff cap with room to spare). */
export const REBUILD_WINDOW_MS = 60_000;
/** Bounds the memory a rebuilt room spends on vouches. */
const MAX_VOUCHED = 256;
/** Bounds a stored record: present members first, then those still expected back. */
const MAX_STORED_MEMBERS = 64;

export const keyHash = (key: string): string => createHash('sha256').update(key).digest('base64url');

/** A meeting nobody runs, created by its first joiner (after a restart without a record, by a rejoiner). */
export function newRoom(name: string, creator: ParticipantId, key: string, rebuildUntil?: number): Room {
  return {
    name,
    members: new Map(),
    moderator: creator,
    moderatorKeyHash: keyHash(key),
    moderatorKey: key,
    formerModerator: undefined,
    locked: false,
    lobby: false,
    passwordHash: null,
    waiting: new Map(),
    rebuild: rebuildUntil === undefined ? undefined : { until: rebuildUntil, vouched: new Set(), moderatorProven: true },
  };
}

/** A stored meeting as a room again: its rules at once, its members and moderator expected back. */
export function roomFromRecord(name: string, record: MeetingRecord, now: number): Room {
  return {
    name,
    members: new Map(),
    moderator: record.moderator,
    moderatorKeyHash: record.moderatorKeyHash,
    moderatorKey: undefined,
    formerModerator: record.formerModerator,
    locked: record.locked,
    lobby: record.lobby,
    passwordHash: record.passwordHash,
    waiting: new Map(),
    rebuild: { until: now + REBUILD_WINDOW_MS, vouched: new Set(record.members), moderatorProven: false },
  };
}

/** What must survive a restart. Members expected back after one stay listed until the window ends. */
export function recordOf(room: Room, updatedAt: number): MeetingRecord {
  const members = new Set(room.members.keys());
  if (room.rebuild) for (const id of room.rebuild.vouched) members.add(id);
  const record: MeetingRecord = {
    passwordHash: room.passwordHash,
    locked: room.locked,
    lobby: room.lobby,
    moderator: room.moderator,
    moderatorKeyHash: room.moderatorKeyHash,
    members: [...members].slice(0, MAX_STORED_MEMBERS),
    updatedAt,
  };
  if (room.formerModerator) record.formerModerator = room.formerModerator;
  return record;
}

/** Someone who was in the meeting before a restart (stored, or vouched for by a returning member). */
export function backFromBefore(room: Room, id: ParticipantId, now: number): boolean {
  const rebuild = room.rebuild;
  return Boolean(rebuild && now <= rebuild.until && (rebuild.vouched.has(id) || (id === room.moderator && !rebuild.moderatorProven)));
}

/** A rejoiner names who it is still connected to; they may come back past the gates for a while. */
export function vouch(room: Room, by: ParticipantId, rejoin: Rejoin, now: number): void {
  if (!room.rebuild || now > room.rebuild.until) return;
  for (const id of rejoin.participants) {
    if (room.rebuild.vouched.size >= MAX_VOUCHED) break;
    if (id !== by) room.rebuild.vouched.add(id);
  }
}

/** What the moderator is told of a knocker: who, and whether audio-only (never their relay credentials). */
export function withoutIce({ id, name, audioOnly }: Participant): Participant {
  return audioOnly ? { id, name, audioOnly } : { id, name };
}

export function settingsOf(room: Room): RoomSettings {
  return { locked: room.locked, lobby: room.lobby, hasPassword: room.passwordHash !== null };
}

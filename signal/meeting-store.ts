// Where a meeting's security state outlives the process (issue 11): its password hash, lock,
// lobby, moderator and members, so that after a restart a protected meeting is protected again
// before anyone gets in, and only its real moderator gets the role back.
//
// The file store keeps one small JSON file per meeting in the data directory, named by an HMAC
// of the meeting's name (the disk shows no meeting names). A change to a meeting's rules or its
// moderator is written before anyone is told of it ("urgent"): a crash right after a password was
// set must not bring the meeting back without it. Membership changes are many and can wait for
// the end of the event-loop turn (a small file write costs 0.2–1 ms on a loaded machine). Writes
// go to a temporary file first, so a crash leaves the old or the new record, never half of one. Records read at start wait there until their meeting comes back (`take`) or the rebuild
// window is over (`prune`); a meeting that is running is held by Rooms, not here.

import { createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateSecret } from '../turn/secret.js';
import type { Logger } from './log.js';
import type { ParticipantId } from './protocol.js';

export interface MeetingRecord {
  passwordHash: string | null;
  locked: boolean;
  lobby: boolean;
  moderator: ParticipantId;
  /** SHA-256 of the moderator's key: the disk never holds a key that works. */
  moderatorKeyHash: string;
  /** A moderator who just left may come back with their key until `until`. */
  formerModerator?: { keyHash: string; until: number };
  /** Ids are self-certifying (see protocol.ts), so listing them lets exactly these people back in. */
  members: ParticipantId[];
  /** When the record was last written (ms since the epoch). */
  updatedAt: number;
}

export interface MeetingStore {
  /** The record of a meeting that is not running here, if one is waiting to be restored. */
  peek(room: string): MeetingRecord | undefined;
  /** Like peek, and the record is no longer waiting: the meeting runs again. */
  take(room: string): MeetingRecord | undefined;
  /** `urgent`: on disk before this returns (rules, moderator); otherwise by the end of this event-loop turn. */
  save(room: string, record: MeetingRecord, urgent?: boolean): void;
  remove(room: string): void;
  /** Forgets waiting records written before `before`: meetings nobody came back to. */
  prune(before: number): void;
}

export interface MemoryMeetingStore extends MeetingStore {
  readonly saved: ReadonlyMap<string, MeetingRecord>;
  /** What a restarted process would find: every saved record waits to be restored. */
  restart(): void;
}

/** For tests, and the fallback without a writable data directory: then state survives nothing. */
export function memoryMeetingStore(): MemoryMeetingStore {
  const saved = new Map<string, MeetingRecord>();
  const waiting = new Set<string>();
  return {
    saved,
    peek: (room) => (waiting.has(room) ? saved.get(room) : undefined),
    take(room) {
      const record = this.peek(room);
      waiting.delete(room);
      return record;
    },
    save(room, record) {
      saved.set(room, structuredClone(record));
    },
    remove(room) {
      saved.delete(room);
      waiting.delete(room);
    },
    prune(before) {
      for (const room of waiting) if (saved.get(room)!.updatedAt < before) this.remove(room);
    },
    restart() {
      for (const room of saved.keys()) waiting.add(room);
    },
  };
}

export interface FileStoreOptions {
  dir: string;
  /** Keys the file names: without it, nobody can tell from the disk which meetings exist. */
  secret: string;
  /** Told about write failures (once per failing file name), never about meeting names. */
  onError?: (message: string) => void;
}

export function fileMeetingStore({ dir, secret, onError = () => {} }: FileStoreOptions): MeetingStore {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (room: string) => createHmac('sha256', secret).update(`treff meeting\0${room}`).digest('hex') + '.json';
  const waiting = new Map<string, MeetingRecord>();
  for (const name of readdirSync(dir)) {
    if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
    const record = readRecord(join(dir, name));
    if (record) waiting.set(name, record);
    else rmSync(join(dir, name), { force: true });
  }
  // Coalesced per event-loop turn: a burst of joins into one meeting is one write.
  const pending = new Map<string, MeetingRecord | null>();
  let flushing = false;
  const writeNow = (name: string, record: MeetingRecord | null) => {
    const path = join(dir, name);
    try {
      if (record) {
        writeFileSync(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
        renameSync(`${path}.tmp`, path);
      } else rmSync(path, { force: true });
    } catch (error) {
      onError(`cannot write a meeting record: ${(error as Error).message}`);
    }
  };
  const flush = () => {
    flushing = false;
    for (const [name, record] of pending) writeNow(name, record);
    pending.clear();
  };
  const write = (name: string, record: MeetingRecord | null, urgent = false) => {
    if (urgent) {
      pending.delete(name);
      return writeNow(name, record);
    }
    pending.set(name, record);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };
  return {
    peek: (room) => waiting.get(fileOf(room)),
    take(room) {
      const name = fileOf(room);
      const record = waiting.get(name);
      waiting.delete(name);
      return record;
    },
    save(room, record, urgent) {
      const name = fileOf(room);
      waiting.delete(name);
      write(name, record, urgent);
    },
    remove(room) {
      const name = fileOf(room);
      waiting.delete(name);
      write(name, null);
    },
    prune(before) {
      for (const [name, record] of waiting) {
        if (record.updatedAt >= before) continue;
        waiting.delete(name);
        write(name, null);
      }
    },
  };
}

/** A record as written by an earlier run, or undefined when the file is not one (it is then dropped). */
export function parseMeetingRecord(value: unknown): MeetingRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const id = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);
  if (!(r.passwordHash === null || typeof r.passwordHash === 'string') || typeof r.locked !== 'boolean' || typeof r.lobby !== 'boolean') return undefined;
  if (!id(r.moderator) || !id(r.moderatorKeyHash) || typeof r.updatedAt !== 'number') return undefined;
  if (!Array.isArray(r.members) || r.members.length > 64 || !r.members.every(id)) return undefined;
  const record: MeetingRecord = { passwordHash: r.passwordHash, locked: r.locked, lobby: r.lobby, moderator: r.moderator, moderatorKeyHash: r.moderatorKeyHash, members: r.members, updatedAt: r.updatedAt };
  const former = r.formerModerator as Record<string, unknown> | undefined;
  if (former !== undefined) {
    if (typeof former !== 'object' || former === null || !id(former.keyHash) || typeof former.until !== 'number') return undefined;
    record.formerModerator = { keyHash: former.keyHash, until: former.until };
  }
  return record;
}

function readRecord(path: string): MeetingRecord | undefined {
  try {
    return parseMeetingRecord(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * Each meeting's password hash, lock, lobby, moderator and members, kept in the data directory so
 * a restart brings them back before anyone gets in. Without a usable data directory, in memory
 * only: then a restarted server cannot tell a meeting's members and moderator from strangers.
 */
export function openMeetingStore(dataDir: string, logger: Pick<Logger, 'error'>): MeetingStore {
  try {
    const secret = loadOrCreateSecret(dataDir, { file: 'meeting-secret', what: 'the meeting store secret' });
    return fileMeetingStore({ dir: join(dataDir, 'meetings'), secret, onError: (message) => logger.error(message) });
  } catch (error) {
    logger.error(`protected meetings will not survive a restart: ${(error as Error).message}`);
    return memoryMeetingStore();
  }
}

// The meeting store of a node in a cluster (issue 15): the records live in Redis, so a meeting
// that moves to another node (its node killed or drained) comes back there with its password,
// lock, lobby, moderator and members.
//
// Rooms reads the store synchronously (peek/take), so a node loads a meeting's record at the
// WebSocket upgrade, before the socket can send its join (`offer`). Writes go to Redis at once.
// Rules and moderator changes ("urgent") are acknowledged only once Redis has them: the shell
// holds back everything it would send until then (`settled`), so a node killed right after a
// moderator set a password cannot leave the meeting to come back without it. Membership changes
// are coalesced per event-loop turn and not waited for: a kill can lose the last turn's joins,
// and the browsers of that turn then come back as rejoiners the rebuild window vouches for, or
// knock like strangers. While Redis is down writes are kept locally and written when it returns.

import type { MeetingRecord, MeetingStore } from '../meeting-store.js';
import type { RedisLink } from './redis-link.js';

/** A record loaded for an upgrade whose join never came is dropped after this long. */
const OFFER_TTL_MS = 60_000;

export interface ClusterStore extends MeetingStore {
  /** A record loaded from Redis for a meeting about to be joined here. */
  offer(room: string, record: MeetingRecord, now: number): void;
  /** Meetings running here (they have a record this node wrote). */
  readonly active: ReadonlySet<string>;
  /** Resolves when the urgent writes made so far are in Redis (or failed); undefined when none is in flight. */
  settled(): Promise<void> | undefined;
  /** Writes every record of a meeting running here again (after Redis came back). */
  resync(): Promise<void>;
  /** Writes what is pending now and waits for it. */
  flush(): Promise<void>;
}

export function clusterMeetingStore(link: RedisLink): ClusterStore {
  const waiting = new Map<string, { record: MeetingRecord; offeredAt: number }>();
  const records = new Map<string, MeetingRecord>();
  /** Written while Redis was down: retried on resync. */
  const unsaved = new Set<string>();
  const pending = new Map<string, MeetingRecord | null>();
  let urgent: Promise<void> | undefined;
  let flushing: Promise<void> | undefined;

  const write = (room: string, record: MeetingRecord | null): Promise<void> =>
    link.saveRecord(room, record).then((ok) => {
      if (ok) unsaved.delete(room);
      else unsaved.add(room);
    });
  const flush = (): Promise<void> => {
    flushing = undefined;
    const batch = [...pending];
    pending.clear();
    return Promise.all(batch.map(([room, record]) => write(room, record))).then(() => undefined);
  };
  const later = (room: string, record: MeetingRecord | null) => {
    pending.set(room, record);
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
  };

  return {
    active: new Set<string>(),
    peek: (room) => waiting.get(room)?.record,
    take(room) {
      const record = waiting.get(room)?.record;
      waiting.delete(room);
      return record;
    },
    save(room, record, isUrgent) {
      waiting.delete(room);
      records.set(room, record);
      (this.active as Set<string>).add(room);
      if (!isUrgent) return later(room, record);
      pending.delete(room);
      const done = write(room, record);
      const before = urgent;
      const all: Promise<void> = Promise.all([before, done]).then(() => {
        if (urgent === all) urgent = undefined;
      });
      urgent = all;
    },
    remove(room) {
      waiting.delete(room);
      records.delete(room);
      (this.active as Set<string>).delete(room);
      later(room, null);
    },
    prune(before) {
      // Rooms prunes once, records from before the start; offers expire on their own clock.
      for (const [room, { offeredAt }] of waiting) if (offeredAt < Math.max(before, Date.now() - OFFER_TTL_MS)) waiting.delete(room);
    },
    offer(room, record, now) {
      for (const [name, { offeredAt }] of waiting) if (offeredAt < now - OFFER_TTL_MS) waiting.delete(name);
      if (!this.active.has(room)) waiting.set(room, { record, offeredAt: now });
    },
    settled: () => urgent,
    async resync() {
      await Promise.all([...records].map(([room, record]) => write(room, record)));
      await Promise.all([...unsaved].filter((room) => !records.has(room)).map((room) => write(room, null)));
    },
    flush: () => (flushing ? flushing : Promise.resolve()),
  };
}

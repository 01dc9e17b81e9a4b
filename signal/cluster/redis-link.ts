// The node's one connection to the cluster's Redis: heartbeat, leases, stored meeting records.
// Redis down must never stop a call: every command fails fast (no offline queue, a timeout),
// the caller decides what a failure means, and the client reconnects with backoff on its own.

import { createClient } from 'redis';
import type { Logger } from '../log.js';
import type { Counters } from '../metrics.js';
import { parseMeetingRecord, type MeetingRecord } from '../meeting-store.js';
import { CLAIM_SCRIPT, HEARTBEAT_MS, LEASE_TTL_MS, NODE_TTL_MS, RECORD_TTL_MS, RELEASE_SCRIPT, meetingKey, nodeKey } from './lease.js';

/** A command Redis has not answered in this time counts as failed (Redis is then treated as down for it). */
const COMMAND_TIMEOUT_MS = 1000;

export class RedisLink {
  private readonly client;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly reconnected = new Set<() => void>();
  private wasUp = false;
  private closed = false;

  constructor(
    url: string,
    readonly node: string,
    private readonly logger: Logger,
    private readonly counters: Counters,
  ) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000) },
    });
    this.client.on('error', () => undefined); // reported through 'ready'/'end' and the failed commands
    this.client.on('ready', () => {
      this.logger.info('connected to Redis');
      void this.beat();
      if (this.wasUp) for (const listener of this.reconnected) listener();
      this.wasUp = true;
    });
    this.client.on('reconnecting', () => {
      if (this.wasUp) this.logger.warn('Redis connection lost; reconnecting (calls go on, leases are best effort)');
    });
  }

  /** Connects in the background: a node starts (and serves) while Redis is down. */
  start(): void {
    this.client.connect().catch(() => undefined);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS).unref();
  }

  get up(): boolean {
    return this.client.isReady;
  }

  /** Called after Redis came back (not on the first connect): the node re-asserts its leases. */
  onReconnect(listener: () => void): void {
    this.reconnected.add(listener);
  }

  /** The meeting's holder after trying to take it; undefined when Redis did not answer. */
  claim(room: string): Promise<string | undefined> {
    return this.command('claim', () => this.client.eval(CLAIM_SCRIPT, { keys: [meetingKey('lease', room)], arguments: [this.node, String(LEASE_TTL_MS)] })).then((holder) =>
      typeof holder === 'string' ? holder : undefined,
    );
  }

  release(room: string): Promise<unknown> {
    return this.command('release', () => this.client.eval(RELEASE_SCRIPT, { keys: [meetingKey('lease', room)], arguments: [this.node] }));
  }

  /** The stored record; null when there is none; undefined when Redis did not answer. */
  async loadRecord(room: string): Promise<MeetingRecord | null | undefined> {
    const raw = await this.command('load', () => this.client.get(meetingKey('meeting', room)));
    if (raw === undefined) return undefined;
    if (raw === null) return null;
    try {
      return parseMeetingRecord(JSON.parse(raw)) ?? null;
    } catch {
      return null;
    }
  }

  /** Whether Redis took the write. `null` removes the record. */
  async saveRecord(room: string, record: MeetingRecord | null): Promise<boolean> {
    const key = meetingKey('meeting', room);
    const done = await this.command<unknown>('save', () => (record ? this.client.set(key, JSON.stringify(record), { PX: RECORD_TTL_MS }) : this.client.del(key)));
    return done !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.client.isReady) await this.command('close', () => this.client.del(nodeKey(this.node)));
    await this.client.disconnect().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    if (this.closed || !this.client.isReady) return;
    await this.command('heartbeat', () => this.client.set(nodeKey(this.node), String(Date.now()), { PX: NODE_TTL_MS }));
  }

  private async command<T>(operation: string, run: () => Promise<T>): Promise<T | undefined> {
    if (!this.client.isReady) {
      this.counters.inc('clusterRedisErrors', operation);
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, COMMAND_TIMEOUT_MS, undefined)));
    try {
      const result = await Promise.race([run(), timeout]);
      if (result === undefined) this.counters.inc('clusterRedisErrors', operation);
      return result;
    } catch {
      this.counters.inc('clusterRedisErrors', operation);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

// A Treff node in a cluster (issue 15): decides at each WebSocket upgrade whether this node holds
// the meeting, keeps its leases and liveness in Redis, and drains. The message path never touches
// Redis: a meeting lives on one node, in memory, as on a single server.

import type { ClusterConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { Counters } from '../metrics.js';
import { clusterMeetingStore, type ClusterStore } from './cluster-store.js';
import { admit, LEASE_REFRESH_MS, type Admission } from './lease.js';
import { RedisLink } from './redis-link.js';

export interface ClusterStatus {
  node: string;
  redisUp: boolean;
  leases: number;
  draining: boolean;
}

export class ClusterNode {
  readonly store: ClusterStore;
  private readonly link: RedisLink;
  /** Meetings whose lease this node holds, as far as it knows. */
  private readonly held = new Set<string>();
  private readonly refresher: NodeJS.Timeout;
  private draining = false;

  constructor(
    private readonly config: ClusterConfig,
    private readonly logger: Logger,
    counters: Counters,
    /** Whether a meeting runs on this node now (then its record is not loaded again). */
    private readonly isRunning: (room: string) => boolean,
  ) {
    this.link = new RedisLink(config.redisUrl, config.nodeId, logger, counters);
    this.store = clusterMeetingStore(this.link);
    this.link.onReconnect(() => void this.reassert());
    this.refresher = setInterval(() => void this.refresh(), LEASE_REFRESH_MS).unref();
    this.link.start();
  }

  get node(): string {
    return this.config.nodeId;
  }

  /** Whether a socket for `room` may open here; loads the meeting's stored rules first when it moves here. */
  async admit(room: string, now: number): Promise<Admission> {
    // While draining, the meetings still here take late joiners (they move with the rest); new ones go elsewhere.
    if (this.draining && !this.held.has(room)) return admit(this.node, true, undefined, false);
    const heldBefore = this.held.has(room);
    const holder = await this.link.claim(room);
    const admission = admit(this.node, false, holder, heldBefore);
    if (admission.kind !== 'owned') return admission;
    this.held.add(room);
    if (!this.isRunning(room)) {
      const record = await this.link.loadRecord(room);
      if (record) this.store.offer(room, record, now);
    }
    return admission;
  }

  status(): ClusterStatus {
    return { node: this.node, redisUp: this.link.up, leases: this.held.size, draining: this.draining };
  }

  /** /readyz fails; only the meetings held here take new sockets. */
  startDraining(): void {
    this.draining = true;
  }

  /** Leases given back (the records stay, up to date) so another node takes the meetings at once. */
  async releaseAll(): Promise<void> {
    this.draining = true;
    await this.store.flush();
    await this.store.settled();
    await Promise.all([...this.held].map((room) => this.link.release(room)));
    this.held.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.refresher);
    await this.store.flush();
    await this.link.close();
  }

  /** Keeps the leases of the meetings running here; gives back those of meetings that ended. */
  private async refresh(): Promise<void> {
    if (this.draining || !this.link.up) return;
    for (const room of [...this.held]) {
      if (this.store.active.has(room)) continue;
      this.held.delete(room);
      void this.link.release(room);
    }
    await Promise.all([...this.store.active].map((room) => this.reclaim(room)));
  }

  /** After Redis came back: the records and leases written while it was away. */
  private async reassert(): Promise<void> {
    if (this.draining) return;
    this.logger.info('Redis is back: re-asserting leases and meeting records', { meetings: this.store.active.size });
    await this.store.resync();
    await this.refresh();
  }

  private async reclaim(room: string): Promise<void> {
    const holder = await this.link.claim(room);
    if (holder === undefined) return;
    if (holder === this.node) this.held.add(room);
    else {
      // Another node took the meeting while this one could not renew (Redis away): both run it.
      this.held.delete(room);
      this.logger.warn('another node holds a meeting running here', { holder });
    }
  }
}

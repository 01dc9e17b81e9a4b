// Who may use the scrypt workers now. scrypt runs on libuv's thread pool (4 threads by default),
// ~60 ms and 16 MiB a hash: a few hundred queued hashes delay every password join on the server
// by seconds (issue 11, attack 7). So hashing is capped globally (a few at once, a bounded queue
// behind them) and per address block, and each connection has at most one hash queued or running
// (the session enforces that). Pure: no timers; the session says when a hash finished.

export interface HashQueueLimits {
  /** Hashes running at once. */
  concurrency: number;
  /** Hashes waiting for a free slot; more are refused. */
  queueLength: number;
  /** Hashes queued or running for one address block. */
  perAddress: number;
}

const DEFAULT_HASH_LIMITS: HashQueueLimits = { concurrency: 4, queueLength: 32, perAddress: 2 };

export class HashQueue<Job extends { address: string }> {
  private readonly running = new Set<Job>();
  private readonly waiting: Job[] = [];
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: HashQueueLimits = DEFAULT_HASH_LIMITS) {}

  /** 'start': hash now; 'queued': later, returned by finished(); 'refused': the server is busy. */
  request(job: Job): 'start' | 'queued' | 'refused' {
    const fromAddress = this.byAddress.get(job.address) ?? 0;
    if (fromAddress >= this.limits.perAddress) return 'refused';
    if (this.running.size >= this.limits.concurrency && this.waiting.length >= this.limits.queueLength) return 'refused';
    this.byAddress.set(job.address, fromAddress + 1);
    if (this.running.size < this.limits.concurrency) {
      this.running.add(job);
      return 'start';
    }
    this.waiting.push(job);
    return 'queued';
  }

  /** A running hash is done: returns the jobs to start now. */
  finished(job: Job): Job[] {
    if (!this.running.delete(job)) return [];
    this.release(job);
    const next: Job[] = [];
    while (this.running.size < this.limits.concurrency && this.waiting.length > 0) {
      const started = this.waiting.shift()!;
      this.running.add(started);
      next.push(started);
    }
    return next;
  }

  /** Drops waiting jobs nobody needs any more (their connection closed); running ones finish. */
  cancelWaiting(unwanted: (job: Job) => boolean): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (unwanted(this.waiting[i]!)) this.release(this.waiting.splice(i, 1)[0]!);
    }
  }

  /** Whether any queued or running job is like this. */
  has(like: (job: Job) => boolean): boolean {
    return [...this.running].some(like) || this.waiting.some(like);
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running.size, waiting: this.waiting.length };
  }

  private release(job: Job): void {
    const left = (this.byAddress.get(job.address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(job.address, left);
    else this.byAddress.delete(job.address);
  }
}

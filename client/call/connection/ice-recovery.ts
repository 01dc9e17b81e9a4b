// When to restart ICE on a peer connection that was connected and lost its path (a network
// change, Wi-Fi to mobile, a firewall hiccup). Pure: the mesh feeds it the ICE state and the time.
//
// Browsers declare a pair 'disconnected' after a few seconds without answers and may find it
// again by themselves, so the first restart waits a little; 'failed' restarts at once. Each
// restart gathers candidates afresh (the relay's included), so a pair whose direct path broke
// comes back through the relay. Later attempts also switch that one connection to relay-only.

export type RecoveryAction = 'restart' | 'restart-relay' | 'give-up';

export interface IceRecoveryOptions {
  /** How long 'disconnected' may last before the first restart. */
  restartAfterMs: number;
  /**
   * How long each restart may take before the next one (the last entry repeats). A restart
   * gathers afresh (a relay allocation included) and checks every pair: on a loaded phone that
   * takes seconds, and a restart started too early throws the one in progress away.
   */
  retryAfterMs: number[];
  /** While ICE is still checking the candidates of a restart, the next one waits this much longer. */
  checkingGraceMs: number;
  /** Restarts before giving up on the connection. */
  maxAttempts: number;
  /** From this attempt on, restart through the relay only. */
  relayFromAttempt: number;
}

export const ICE_RECOVERY_DEFAULTS: IceRecoveryOptions = {
  restartAfterMs: 2000,
  retryAfterMs: [8000, 12_000, 15_000],
  checkingGraceMs: 10_000,
  maxAttempts: 5,
  relayFromAttempt: 2,
};

const HEALTHY = new Set<RTCIceConnectionState>(['connected', 'completed']);

export class IceRecovery {
  #wasConnected = false;
  #lostSince: number | null = null;
  #attempts = 0;
  #lastRestart = -Infinity;
  #gaveUp = false;

  constructor(private readonly options: IceRecoveryOptions = ICE_RECOVERY_DEFAULTS) {}

  /** Connected once, and not connected now: the tile says "reconnecting…". */
  get reconnecting(): boolean {
    return this.#lostSince !== null;
  }

  /** Connected once and not given up: a failure now is ours to repair, not the end. */
  get recovering(): boolean {
    return this.#wasConnected && !this.#gaveUp;
  }

  /** Feeds the current ICE state; returns what to do now (at most once per decision). */
  update(state: RTCIceConnectionState, now: number): RecoveryAction | null {
    if (HEALTHY.has(state)) {
      this.#wasConnected = true;
      this.#lostSince = null;
      this.#attempts = 0;
      this.#gaveUp = false;
      return null;
    }
    // Before the first connection ICE is still trying its first candidates: not ours to restart.
    if (!this.#wasConnected || this.#gaveUp || state === 'closed') return null;
    this.#lostSince ??= now;
    const { restartAfterMs, retryAfterMs, checkingGraceMs, maxAttempts, relayFromAttempt } = this.options;
    const retryAfter = retryAfterMs[Math.min(this.#attempts - 1, retryAfterMs.length - 1)]! + (state === 'checking' ? checkingGraceMs : 0);
    const due = this.#attempts === 0 ? state === 'failed' || now - this.#lostSince >= restartAfterMs : now - this.#lastRestart >= retryAfter;
    if (!due) return null;
    if (this.#attempts >= maxAttempts) {
      this.#gaveUp = true;
      return 'give-up';
    }
    this.#attempts++;
    this.#lastRestart = now;
    return this.#attempts >= relayFromAttempt ? 'restart-relay' : 'restart';
  }

  /** The other side asked for a restart: true when none of ours is under way (so one restart, not two). */
  acceptsRequest(now: number): boolean {
    return now - this.#lastRestart >= this.options.restartAfterMs;
  }

  /** A restart we did on request counts as ours: our own first one is not due any more. */
  noteRestart(now: number): void {
    this.#lastRestart = now;
    if (this.#wasConnected) this.#attempts = Math.max(this.#attempts, 1);
  }
}

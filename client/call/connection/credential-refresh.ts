// Relay credentials are short-lived (TURN REST scheme: the username is "<expiry>:<id>"). coturn only
// checks them when an allocation is made, so a running relayed call outlives them; but an ICE restart
// or a newcomer late in a long meeting needs fresh ones. The browser asks for them in good time.

import type { IceServer } from '../../../signal/protocol.js';
import type { Clock, TimerId } from '../clock.js';

/** Never ask again sooner than this, whatever a (mis)configured lifetime says. */
export const MIN_REFRESH_MS = 10_000;

/** When the earliest of these credentials expires (unix ms), or null when none carries an expiry. */
export function credentialsExpireAt(iceServers: readonly IceServer[]): number | null {
  const expiries = iceServers.flatMap((server) => {
    const match = /^(\d{9,12}):/.exec(server.username ?? '');
    return match ? [Number(match[1]) * 1000] : [];
  });
  return expiries.length > 0 ? Math.min(...expiries) : null;
}

/** How long to wait before asking for fresh credentials: once three quarters of their remaining life are gone. */
export function refreshDelayMs(iceServers: readonly IceServer[], now: number): number | null {
  const expiresAt = credentialsExpireAt(iceServers);
  if (expiresAt === null) return null;
  return Math.max(MIN_REFRESH_MS, Math.floor((expiresAt - now) * 0.75));
}

/** Asks for fresh relay credentials before these expire; while the server is away, asks again later. */
export class CredentialRefresh {
  #timer: TimerId | undefined;

  readonly #clock: Clock;
  readonly #ask: () => void;
  constructor(
    clock: Clock,
    ask: () => void,
  ) {
    this.#clock = clock;
    this.#ask = ask;
  }

  schedule(iceServers: readonly IceServer[]): void {
    this.stop();
    const delay = refreshDelayMs(iceServers, this.#clock.now());
    if (delay === null) return;
    const ask = () => {
      this.#ask();
      this.#timer = this.#clock.setTimeout(ask, MIN_REFRESH_MS);
    };
    this.#timer = this.#clock.setTimeout(ask, delay);
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

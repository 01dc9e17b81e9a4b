// Which relays a browser is given (issue 15): several coturns share one secret, so one set of
// credentials works on each; a browser gets at least two, those of its node's region first, so a
// dead relay costs it an ICE restart through the other, not the call. Pure.

import type { RelayHost } from '../signal/config.js';

/** Relays given to each browser at least, when that many are configured. */
export const MIN_RELAYS = 2;

/**
 * `own`: the node's own relay (internal coturn or TREFF_TURN_HOST), always first; then the listed
 * relays of `region`, then others until there are MIN_RELAYS. Duplicates are dropped.
 */
export function relaysFor(region: string | undefined, listed: readonly RelayHost[], own: Omit<RelayHost, 'region'> | undefined): Array<Omit<RelayHost, 'region'>> {
  const chosen: Array<Omit<RelayHost, 'region'>> = own ? [own] : [];
  const add = (relay: RelayHost) => {
    if (!chosen.some((c) => c.host === relay.host && c.port === relay.port)) chosen.push({ host: relay.host, port: relay.port });
  };
  for (const relay of listed) if (region !== undefined && relay.region === region) add(relay);
  for (const relay of listed) if (chosen.length < MIN_RELAYS) add(relay);
  return chosen;
}

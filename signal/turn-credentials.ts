// Short-lived relay credentials (TURN REST API scheme) and the ICE server list that carries them.

import { createHmac } from 'node:crypto';
import { addressBlock } from './address-block.js';
import { normalizeAddress } from './origin.js';
import type { IceServer } from './protocol.js';

export interface TurnCredentials {
  /** `${expiry}:${relayUser}`, expiry in unix seconds: coturn refuses the credential after it. */
  username: string;
  /** base64(HMAC-SHA1(secret, username)): coturn recomputes it from the shared secret. */
  credential: string;
  /** Unix milliseconds, like nowMs. */
  expiresAt: number;
}

/**
 * Credentials for a participant connecting from `clientAddress` (as the server saw it, proxy
 * resolved), valid for ttlSeconds from nowMs.
 *
 * coturn 4.6.1 counts `user-quota` per user part: what follows the all-digit expiry and ':'
 * (userdb.c, get_real_username). The user part is therefore the client's address block, so all
 * credentials minted for one address share one quota, whatever their expiry and however many
 * participants or meetings that address opens. (With a part per participant, 110 credentials from
 * one address filled the relay.)
 */
export function mintTurnCredentials(secret: string, clientAddress: string, ttlSeconds: number, nowMs: number): TurnCredentials {
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiry}:${relayUser(secret, clientAddress)}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: expiry * 1000 };
}

/**
 * The user part for an address: one per IPv4 address and per IPv6 /64 (the block one customer
 * gets, as for the server's own per-address budgets; ::ffff:a.b.c.d counts as a.b.c.d). Keyed with
 * the secret, so the name says nothing about the address to anyone without the secret, and a
 * client cannot pick the name of another address's quota. 22 base64url characters (132 bits), no ':'.
 */
export function relayUser(secret: string, clientAddress: string): string {
  const block = addressBlock(normalizeAddress(clientAddress));
  return createHmac('sha256', secret).update(`treff relay user\0${block}`).digest('base64url').slice(0, 22);
}

export interface RelayAddress {
  host: string;
  port: number;
  tlsPort?: number;
  credentials: Pick<TurnCredentials, 'username' | 'credential'>;
}

/** STUN and TURN on Treff's own relay only, so no third party learns who is in a call. */
export function turnIceServers({ host, port, tlsPort, credentials }: RelayAddress): IceServer[] {
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const relayUrls = [`turn:${hostPart}:${port}?transport=udp`, `turn:${hostPart}:${port}?transport=tcp`];
  if (tlsPort !== undefined) relayUrls.push(`turns:${hostPart}:${tlsPort}?transport=tcp`);
  return [
    { urls: [`stun:${hostPart}:${port}`] },
    { urls: relayUrls, username: credentials.username, credential: credentials.credential },
  ];
}

// Short-lived relay credentials (TURN REST API scheme) and the ICE server list that carries them.

import { createHmac } from 'node:crypto';
import type { IceServer } from './protocol.js';

export interface TurnCredentials {
  /** `${expiry}:${participantId}`, expiry in unix seconds: coturn refuses the credential after it. */
  username: string;
  /** base64(HMAC-SHA1(secret, username)): coturn recomputes it from the shared secret. */
  credential: string;
  /** Unix milliseconds, like nowMs. */
  expiresAt: number;
}

export function mintTurnCredentials(secret: string, participantId: string, ttlSeconds: number, nowMs: number): TurnCredentials {
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiry}:${participantId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: expiry * 1000 };
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

// Server settings from the environment, each validated with an error that names the setting.

import { isIPv4 } from 'node:net';

export interface Config {
  host: string;
  port: number;
  /** Largest meeting; a full mesh sends every stream to every peer, so more than 8 rarely works. */
  roomCapacity: number;
  /** Directory holding the built client (index.html and assets/). */
  staticDir: string;
  /** Largest WebSocket message accepted; an SDP offer with many codecs is about 10 KB. */
  maxMessageBytes: number;
  /** Seconds without traffic before a socket is dropped; uWS pings in between, browsers answer. */
  idleTimeoutSeconds: number;
  relay: RelayConfig;
}

/**
 * The TURN relay for participants behind firewalls.
 * internal: `npm start` runs coturn itself; external: an operator's coturn sharing the secret; off: direct calls only.
 */
export interface RelayConfig {
  mode: 'internal' | 'external' | 'off';
  /** Host name or address browsers use for the relay; by default the one they used to reach Treff. */
  publicHost: string | undefined;
  port: number;
  /** TURN over TLS (turns:), when a certificate is given: passes firewalls that allow only HTTPS. */
  tls: { port: number; certFile: string; keyFile: string } | undefined;
  /** Shared with coturn; generated and kept in dataDir when not given. */
  secret: string | undefined;
  dataDir: string;
  /** Lifetime of the credentials handed to a participant. */
  credentialTtlSeconds: number;
  listenIp: string | undefined;
  relayIp: string | undefined;
  externalIp: string | undefined;
  minPort: number;
  maxPort: number;
  /** The deployment's own addresses, which relayed participants must reach despite the private-range block. */
  allowedPeerIps: string[];
}

export class ConfigError extends Error {
  constructor(setting: string, problem: string) {
    super(`Invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, defaults: { staticDir: string; dataDir?: string }): Config {
  return {
    host: env.TREFF_HOST || '0.0.0.0',
    port: integer(env, 'TREFF_PORT', 8080, 0, 65535),
    roomCapacity: integer(env, 'TREFF_ROOM_CAPACITY', 8, 2, 50),
    staticDir: env.TREFF_STATIC_DIR || defaults.staticDir,
    maxMessageBytes: integer(env, 'TREFF_MAX_MESSAGE_BYTES', 64 * 1024, 4096, 1024 * 1024),
    idleTimeoutSeconds: integer(env, 'TREFF_IDLE_TIMEOUT', 32, 8, 960),
    relay: loadRelayConfig(env, defaults.dataDir ?? 'data'),
  };
}

function loadRelayConfig(env: Env, defaultDataDir: string): RelayConfig {
  const mode = oneOf(env, 'TREFF_TURN', ['internal', 'external', 'off'] as const, 'internal');
  const certFile = env.TREFF_TURN_CERT || undefined;
  const keyFile = env.TREFF_TURN_KEY || undefined;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError(certFile ? 'TREFF_TURN_KEY' : 'TREFF_TURN_CERT', 'TURN over TLS needs both a certificate and its key');
  }
  const secret = env.TREFF_TURN_SECRET || undefined;
  if (secret !== undefined && secret.length < 16) throw new ConfigError('TREFF_TURN_SECRET', 'must be at least 16 characters');
  const publicHost = env.TREFF_TURN_HOST || undefined;
  if (mode === 'external' && !secret) throw new ConfigError('TREFF_TURN_SECRET', 'an external relay needs the secret it shares with Treff');
  if (mode === 'external' && !publicHost) throw new ConfigError('TREFF_TURN_HOST', 'an external relay needs its host name');
  const relayIp = ipv4(env, 'TREFF_TURN_RELAY_IP');
  const externalIp = ipv4(env, 'TREFF_TURN_EXTERNAL_IP');
  const minPort = integer(env, 'TREFF_TURN_MIN_PORT', 49152, 1024, 65535);
  const maxPort = integer(env, 'TREFF_TURN_MAX_PORT', 65535, 1024, 65535);
  if (maxPort < minPort) throw new ConfigError('TREFF_TURN_MAX_PORT', `${maxPort} is below TREFF_TURN_MIN_PORT ${minPort}`);
  const allowedPeerIps = (env.TREFF_TURN_ALLOWED_PEER_IPS ?? '')
    .split(',')
    .map((ip) => ip.trim())
    .filter(Boolean);
  for (const ip of allowedPeerIps) if (!isIPv4(ip)) throw new ConfigError('TREFF_TURN_ALLOWED_PEER_IPS', `"${ip}" is not an IPv4 address`);
  return {
    mode,
    publicHost,
    port: integer(env, 'TREFF_TURN_PORT', 10000, 1, 65535),
    tls: certFile && keyFile ? { port: integer(env, 'TREFF_TURN_TLS_PORT', 443, 1, 65535), certFile, keyFile } : undefined,
    secret,
    dataDir: env.TREFF_DATA_DIR || defaultDataDir,
    credentialTtlSeconds: integer(env, 'TREFF_TURN_TTL', 4 * 3600, 60, 7 * 24 * 3600),
    listenIp: ipv4(env, 'TREFF_TURN_LISTEN_IP'),
    relayIp,
    externalIp,
    minPort,
    maxPort,
    allowedPeerIps,
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `${value} is outside ${min}–${max}`);
  return value;
}

function oneOf<const T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, `"${raw}" is not one of ${values.join(', ')}`);
  return raw as T;
}

function ipv4(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!isIPv4(raw)) throw new ConfigError(name, `"${raw}" is not an IPv4 address`);
  return raw;
}

// The server's settings, read from one flat record keyed by environment variable (the config
// file, the environment and the flags are merged into it first, see config-sources.ts) and each
// validated with an error that names the setting. Ranges and defaults live in settings.ts.

import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';
import { CONFIG_ORIGIN, footerLinkTarget } from './links.js';
import type { RateLimit } from './rate-limit.js';
import { SETTINGS, type BooleanSetting, type ChoiceSetting, type IntegerSetting, type ListSetting, type TextSetting } from './settings.js';

export type LogLevel = (typeof SETTINGS.logLevel.values)[number];
export type Language = (typeof SETTINGS.defaultLanguage.values)[number];

export interface Config {
  host: string;
  port: number;
  /** The name users type (meet.example.org); undefined when Treff should go by the Host header. */
  publicHost: string | undefined;
  /** Largest meeting; a full mesh sends every stream to every peer, so more than 8 rarely works. */
  roomCapacity: number;
  /** Most members including audio-only ones; at least roomCapacity. */
  audioOnlyCapacity: number;
  uplinkBudgetKbps: number;
  /** Directory holding the built client (index.html and assets/). */
  staticDir: string;
  /** Where secrets Treff creates for itself are kept (the relay's, the moderator keys'). */
  dataDir: string;
  /** Largest WebSocket message accepted; an SDP offer with many codecs is about 10 KB. */
  maxMessageBytes: number;
  /** Seconds without traffic before a socket is dropped; uWS pings in between, browsers answer. */
  idleTimeoutSeconds: number;
  /** How long a participant whose WebSocket dropped keeps their seat. */
  seatGraceSeconds: number;
  /** HTTPS served by Treff itself; undefined behind a TLS-terminating proxy or on localhost. */
  tls: TlsConfig | undefined;
  limits: Limits;
  /** Origins besides the page's own whose pages may open the WebSocket, lower-cased ("https://intranet.example.org"). */
  allowedOrigins: string[];
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  metricsToken: string | undefined;
  logLevel: LogLevel;
  /** What the browser app is told at GET /client-config.json. */
  client: ClientConfig;
  relay: RelayConfig;
  /** Several nodes behind HAProxy sharing a Redis; undefined for one node (the default). */
  cluster: ClusterConfig | undefined;
}

export interface ClusterConfig {
  redisUrl: string;
  nodeId: string;
  drainDelaySeconds: number;
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** Plain-HTTP port answering every request with a redirect to HTTPS. */
  redirectPort: number | undefined;
  hstsMaxAgeSeconds: number;
}

export interface Limits {
  rate: RateLimit;
  /** A client that keeps sending after being told to slow down is cut off after this many refusals. */
  maxRefused: number;
  connectionsPerAddress: number;
  /** Lobby knocks per address block in 10 minutes. */
  knocksPerAddress: number;
  /** Relay credentials per address block in 10 minutes. */
  relayCredentialsPerAddress: number;
}

export interface ClientConfig {
  footerLinks: { privacy?: string; imprint?: string; help?: string };
  defaultLanguage: Language;
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
  /** Further relays sharing the secret (issue 15); a browser gets those of `region` first. */
  relays: RelayHost[];
  region: string | undefined;
}

export interface RelayHost {
  host: string;
  port: number;
  region: string | undefined;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`Invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, defaults: { staticDir: string; dataDir?: string }): Config {
  const dataDir = text(env, SETTINGS.dataDir) ?? defaults.dataDir ?? 'data';
  const roomCapacity = integer(env, SETTINGS.roomCapacity);
  return {
    host: text(env, SETTINGS.host) ?? '0.0.0.0',
    port: integer(env, SETTINGS.port),
    publicHost: hostName(env, SETTINGS.publicHost),
    roomCapacity,
    audioOnlyCapacity: audioOnlyCapacity(env, roomCapacity),
    uplinkBudgetKbps: integer(env, SETTINGS.uplinkBudget),
    staticDir: text(env, SETTINGS.staticDir) ?? defaults.staticDir,
    dataDir,
    maxMessageBytes: integer(env, SETTINGS.maxMessageBytes),
    idleTimeoutSeconds: integer(env, SETTINGS.idleTimeout),
    seatGraceSeconds: integer(env, SETTINGS.seatGrace),
    tls: loadTlsConfig(env),
    limits: {
      rate: { burst: integer(env, SETTINGS.rateBurst), perSecond: integer(env, SETTINGS.ratePerSecond) },
      maxRefused: integer(env, SETTINGS.rateMaxRefused),
      connectionsPerAddress: integer(env, SETTINGS.connectionsPerAddress),
      knocksPerAddress: integer(env, SETTINGS.knocksPerAddress),
      relayCredentialsPerAddress: integer(env, SETTINGS.relayCredentialsPerAddress),
    },
    allowedOrigins: items(env, SETTINGS.allowedOrigins).map((origin) => webOrigin(SETTINGS.allowedOrigins.env, origin)),
    trustProxy: flag(env, SETTINGS.trustProxy),
    metricsToken: secretText(env, SETTINGS.metricsToken),
    logLevel: oneOf(env, SETTINGS.logLevel),
    client: {
      footerLinks: {
        ...link(env, SETTINGS.privacyUrl, 'privacy'),
        ...link(env, SETTINGS.imprintUrl, 'imprint'),
        ...link(env, SETTINGS.helpUrl, 'help'),
      },
      defaultLanguage: oneOf(env, SETTINGS.defaultLanguage),
    },
    relay: loadRelayConfig(env, dataDir),
    cluster: loadClusterConfig(env),
  };
}

/** "turn2.example.org:3478@north", "[2001:db8::1]:3478", "10.0.0.7:3478" */
function relayHost(entry: string): RelayHost {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})(?:@([A-Za-z0-9_-]{1,32}))?$/.exec(entry);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new ConfigError(SETTINGS.turnRelays.env, `"${entry}" is not host:port or host:port@region`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port, region: match[3] };
}

function loadClusterConfig(env: Env): ClusterConfig | undefined {
  const redisUrl = text(env, SETTINGS.redisUrl);
  const nodeId = text(env, SETTINGS.nodeId);
  if (!redisUrl) {
    if (nodeId !== undefined) throw new ConfigError(SETTINGS.nodeId.env, `a node id is for a cluster: set ${SETTINGS.redisUrl.env} too`);
    return undefined;
  }
  if (!/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw new ConfigError(SETTINGS.redisUrl.env, 'expected redis://host:port or rediss://host:port');
  const id = nodeId ?? hostname();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new ConfigError(SETTINGS.nodeId.env, `"${id}" is not 1–64 letters, digits, dots, dashes or underscores`);
  return { redisUrl, nodeId: id, drainDelaySeconds: integer(env, SETTINGS.drainDelay) };
}

/** Seats for listeners beyond the video senders, unless the operator says otherwise: a few kbit/s each. */
const AUDIO_ONLY_SEATS = 4;

function audioOnlyCapacity(env: Env, videoCapacity: number): number {
  const capacity = optionalInteger(env, SETTINGS.audioOnlyCapacity) ?? videoCapacity + AUDIO_ONLY_SEATS;
  if (capacity < videoCapacity) throw new ConfigError(SETTINGS.audioOnlyCapacity.env, `must be at least ${SETTINGS.roomCapacity.env} (${videoCapacity}), got ${capacity}`);
  return capacity;
}

function loadTlsConfig(env: Env): TlsConfig | undefined {
  const certFile = text(env, SETTINGS.tlsCert);
  const keyFile = text(env, SETTINGS.tlsKey);
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError(certFile ? SETTINGS.tlsKey.env : SETTINGS.tlsCert.env, 'HTTPS needs both a certificate and its key');
  }
  const redirectPort = optionalInteger(env, SETTINGS.httpRedirectPort);
  if (!certFile || !keyFile) {
    if (redirectPort !== undefined) throw new ConfigError(SETTINGS.httpRedirectPort.env, `redirecting to HTTPS needs ${SETTINGS.tlsCert.env} and ${SETTINGS.tlsKey.env}`);
    return undefined;
  }
  if (redirectPort !== undefined && redirectPort === integer(env, SETTINGS.port)) {
    throw new ConfigError(SETTINGS.httpRedirectPort.env, `${redirectPort} is also ${SETTINGS.port.env}`);
  }
  return { certFile, keyFile, redirectPort, hstsMaxAgeSeconds: integer(env, SETTINGS.hstsMaxAge) };
}

function loadRelayConfig(env: Env, dataDir: string): RelayConfig {
  const mode = oneOf(env, SETTINGS.turnMode);
  const certFile = text(env, SETTINGS.turnCert);
  const keyFile = text(env, SETTINGS.turnKey);
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError(certFile ? SETTINGS.turnKey.env : SETTINGS.turnCert.env, 'TURN over TLS needs both a certificate and its key');
  }
  const secret = secretText(env, SETTINGS.turnSecret);
  const publicHost = text(env, SETTINGS.turnHost);
  if (mode === 'external' && !secret) throw new ConfigError(SETTINGS.turnSecret.env, 'an external relay needs the secret it shares with Treff');
  if (mode === 'external' && !publicHost) throw new ConfigError(SETTINGS.turnHost.env, 'an external relay needs its host name');
  const minPort = integer(env, SETTINGS.turnMinPort);
  const maxPort = integer(env, SETTINGS.turnMaxPort);
  if (maxPort < minPort) throw new ConfigError(SETTINGS.turnMaxPort.env, `${maxPort} is below ${SETTINGS.turnMinPort.env} ${minPort}`);
  const allowedPeerIps = items(env, SETTINGS.turnAllowedPeerIps);
  for (const ip of allowedPeerIps) if (!isIPv4(ip)) throw new ConfigError(SETTINGS.turnAllowedPeerIps.env, `"${ip}" is not an IPv4 address`);
  return {
    mode,
    publicHost,
    port: integer(env, SETTINGS.turnPort),
    tls: certFile && keyFile ? { port: integer(env, SETTINGS.turnTlsPort), certFile, keyFile } : undefined,
    secret,
    dataDir,
    credentialTtlSeconds: integer(env, SETTINGS.turnTtl),
    listenIp: ipv4(env, SETTINGS.turnListenIp),
    relayIp: ipv4(env, SETTINGS.turnRelayIp),
    externalIp: ipv4(env, SETTINGS.turnExternalIp),
    minPort,
    maxPort,
    allowedPeerIps,
    relays: items(env, SETTINGS.turnRelays).map(relayHost),
    region: text(env, SETTINGS.region),
  };
}

function text(env: Env, setting: TextSetting): string | undefined {
  const raw = env[setting.env];
  return raw === undefined || raw === '' ? setting.default : raw;
}

/** Like text, but the value never appears in an error message. */
function secretText(env: Env, setting: TextSetting): string | undefined {
  const value = text(env, setting);
  if (value !== undefined && value.length < 16) throw new ConfigError(setting.env, 'must be at least 16 characters');
  return value;
}

function optionalInteger(env: Env, setting: IntegerSetting): number | undefined {
  const raw = env[setting.env];
  if (raw === undefined || raw === '') return setting.default;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(setting.env, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < setting.min || value > setting.max) throw new ConfigError(setting.env, `${value} is outside ${setting.min}–${setting.max}`);
  return value;
}

function integer(env: Env, setting: IntegerSetting & { default: number }): number {
  return optionalInteger(env, setting) ?? setting.default;
}

function oneOf<const T extends string>(env: Env, setting: ChoiceSetting<T>): T {
  const raw = env[setting.env];
  if (raw === undefined || raw === '') return setting.default;
  if (!(setting.values as readonly string[]).includes(raw)) throw new ConfigError(setting.env, `"${raw}" is not one of ${setting.values.join(', ')}`);
  return raw as T;
}

function flag(env: Env, setting: BooleanSetting): boolean {
  const raw = env[setting.env]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return setting.default;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(setting.env, `"${env[setting.env]}" is not true or false`);
}

function items(env: Env, setting: ListSetting): string[] {
  return (env[setting.env] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function ipv4(env: Env, setting: TextSetting): string | undefined {
  const raw = text(env, setting);
  if (raw !== undefined && !isIPv4(raw)) throw new ConfigError(setting.env, `"${raw}" is not an IPv4 address`);
  return raw;
}

function hostName(env: Env, setting: TextSetting): string | undefined {
  const raw = text(env, setting);
  if (raw !== undefined && !/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(raw) && !isIPv4(raw)) {
    throw new ConfigError(setting.env, `"${raw}" is not a host name (no scheme, port or path: meet.example.org)`);
  }
  return raw?.toLowerCase();
}

/** "https://Intranet.example.org/" → "https://intranet.example.org" */
function webOrigin(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${raw}" is not an origin like https://intranet.example.org`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new ConfigError(name, `"${raw}" is not an origin like https://intranet.example.org (scheme and host, optionally a port, nothing else)`);
  }
  return url.origin;
}

/** Footer links are followed by users: only https: addresses or paths on this server (see links.ts). */
function link<K extends string>(env: Env, setting: TextSetting, key: K): Partial<Record<K, string>> {
  const raw = text(env, setting);
  if (raw === undefined) return {};
  const target = footerLinkTarget(raw, CONFIG_ORIGIN);
  if (target === undefined) throw new ConfigError(setting.env, `"${raw}" is not an https:// address or a path on this server starting with /`);
  return { [key]: target } as Record<K, string>;
}

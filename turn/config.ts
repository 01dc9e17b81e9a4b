// coturn configuration as code: Treff's relay settings in, a commented turnserver.conf out.
// Written for coturn 4.6.1 (Debian bookworm); every line was checked against its startup log.

import { writeFileSync, renameSync, rmSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';

export interface TurnConfigOptions {
  /** 'test' lets the relay reach loopback peers so tests on 127.0.0.1 can relay; never for real deployments. */
  profile: 'production' | 'test';
  realm: string;
  /** One port for TURN over UDP and TCP (10000). */
  port: number;
  listeningIps?: string[];
  /** IPv4 relay address; relaying becomes IPv4-only. */
  relayIp?: string;
  /** Public address when the server sits behind 1:1 NAT. */
  externalIp?: string;
  minPort: number;
  maxPort: number;
  secret: string;
  tls?: { port: number; certFile: string; keyFile: string };
  /** The deployment's own relay/external addresses: relayed participants reach each other's allocations there. */
  allowedPeerIps: string[];
  /** Concurrent allocations per REST user part; Treff makes that part stand for one client address (see relayQuotas). */
  userQuota: number;
  totalQuota: number;
  /** Bytes per second one allocation may carry in each direction. */
  maxBps: number;
  /** Where coturn keeps its pid file; without it, no pid file is written (the supervisor knows the pid). */
  pidDir?: string;
}

/** What one browser can need at once: a full meeting (8 video + 4 audio-only seats) is 11 peer connections. */
const PEER_CONNECTIONS_PER_PARTICIPANT = 11;
/** A browser allocates over every TURN URL it is given: UDP, TCP and TLS. */
const ALLOCATIONS_PER_PEER_CONNECTION = 3;
/** People behind one address (an office's NAT, a home) who can all be in full relayed meetings at once. */
const PARTICIPANTS_PER_ADDRESS = 4;
/** Twice the default upload budget (2,500 kbit/s, all of which a two-person call sends to its one peer). */
const MAX_BYTES_PER_SECOND = 625_000;

/**
 * Quotas for the production relay. One address (IPv4, IPv6 /64) gets 4 × 11 × 3 = 132 allocations;
 * the whole relay as many as it has relay ports (one UDP port per allocation), so filling it takes
 * ports / 132 addresses (125 with the default 49152–65535) instead of one.
 */
export function relayQuotas(minPort: number, maxPort: number): Pick<TurnConfigOptions, 'userQuota' | 'totalQuota' | 'maxBps'> {
  const userQuota = PARTICIPANTS_PER_ADDRESS * PEER_CONNECTIONS_PER_PARTICIPANT * ALLOCATIONS_PER_PEER_CONNECTION;
  return { userQuota, totalQuota: Math.max(userQuota, maxPort - minPort + 1), maxBps: MAX_BYTES_PER_SECOND };
}

interface DeniedBlock {
  cidr: string;
  why: string;
}

/** Everything a relay must never reach for a participant: the operator's networks and addresses with no business on the internet. */
export const DENIED_PEER_BLOCKS: readonly DeniedBlock[] = [
  { cidr: '0.0.0.0/8', why: '"this network"; 0.0.0.0 reaches the relay host itself (CVE-2020-26262)' },
  { cidr: '10.0.0.0/8', why: 'private network (RFC 1918)' },
  { cidr: '100.64.0.0/10', why: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', why: 'loopback: services on the relay host' },
  { cidr: '169.254.0.0/16', why: 'link-local, including cloud metadata at 169.254.169.254' },
  { cidr: '172.16.0.0/12', why: 'private network (RFC 1918)' },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', why: 'documentation (TEST-NET-1)' },
  { cidr: '192.88.99.0/24', why: 'deprecated 6to4 relay anycast' },
  { cidr: '192.168.0.0/16', why: 'private network (RFC 1918)' },
  { cidr: '198.18.0.0/15', why: 'benchmarking' },
  { cidr: '198.51.100.0/24', why: 'documentation (TEST-NET-2)' },
  { cidr: '203.0.113.0/24', why: 'documentation (TEST-NET-3)' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: '240.0.0.0/4', why: 'reserved' },
  { cidr: '255.255.255.255/32', why: 'limited broadcast' },
  { cidr: '::/128', why: 'unspecified address, reaches the relay host like 0.0.0.0' },
  { cidr: '::1/128', why: 'IPv6 loopback' },
  { cidr: '::/96', why: 'deprecated IPv4-compatible addresses (::127.0.0.1)' },
  { cidr: '::ffff:0:0/96', why: 'IPv4-mapped: ::ffff:127.0.0.1 slips past the loopback check (CVE-2026-27624)' },
  { cidr: '64:ff9b::/96', why: 'NAT64: reaches IPv4 addresses, private ones included, through a translator' },
  { cidr: '64:ff9b:1::/48', why: 'local-use NAT64' },
  { cidr: '100::/64', why: 'discard-only' },
  { cidr: '2001::/32', why: 'Teredo: embeds IPv4 addresses' },
  { cidr: '2001:db8::/32', why: 'documentation' },
  { cidr: '2002::/16', why: '6to4: embeds IPv4 addresses, private ones included' },
  { cidr: '3fff::/20', why: 'documentation' },
  { cidr: 'fc00::/7', why: 'unique local (the IPv6 private range)' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'fec0::/10', why: 'deprecated site-local' },
  { cidr: 'ff00::/8', why: 'multicast' },
];

/**
 * The same blocks as coturn 4.6.1 accepts and reads them: ranges, never CIDR ("Wrong address format",
 * and it would start without the block), and never a range starting at the all-zero address.
 */
export const DENIED_PEER_RANGES: readonly string[] = DENIED_PEER_BLOCKS.flatMap((block) => coturnRanges(block.cidr));

/**
 * A CIDR block as ranges that coturn 4.6.1 matches exactly. Read in its source (ns_turn_ioaddr.c,
 * ioa_addr_in_range and addr_less_eq) and measured with a peer of our own:
 * - a bound that is all zeros (`::`, `0.0.0.0`) counts as "no bound";
 * - every IPv4 address sorts below every IPv6 address (the compare falls back to the address family);
 * - IPv6 addresses compare byte by byte (each byte of min <= each byte of the peer <= each byte of max).
 * So `::-::ffff:ffff` (from ::/96) refused every IPv4 peer ("A peer IP 20.77.250.2 denied in the range:
 * ::-::ffff:ffff"), and `::-::` (from ::/128) refuses every peer of either family.
 * Byte by byte is exact for a CIDR block (fixed prefix bytes, one contiguous partial byte, free host
 * bytes). A block starting at zero therefore loses its zero address, which coturn refuses by itself
 * (ioa_addr_is_zero: all of 0.0.0.0/8, and ::); an IPv6 one becomes one range per host byte with that
 * byte at least 1, whose union is exact also if coturn ever compares numerically.
 */
export function coturnRanges(cidr: string): string[] {
  const range = cidrToRange(cidr);
  const [min = '', max = ''] = range.split('-');
  const family = isIPv4(min) ? 4 : 6;
  const minValue = family === 4 ? parseIPv4(min) : parseIPv6(min);
  if (minValue !== 0n) return [range];
  const prefix = Number(cidr.split('/')[1]);
  if (prefix === (family === 4 ? 32 : 128)) return [];
  // IPv4 compares as a number: starting at .1 is exact.
  if (family === 4) return [`0.0.0.1-${max}`];
  const pieces: string[] = [];
  // IPv6, from the first byte that holds host bits: one range per byte, in which that byte is at least 1.
  for (let byte = Math.floor(prefix / 8); byte < 16; byte++) pieces.push(`${formatIPv6(1n << BigInt(8 * (15 - byte)))}-${max}`);
  return pieces;
}

/** '10.0.0.0/8' → '10.0.0.0-10.255.255.255'; 'fe80::/10' → 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'. */
export function cidrToRange(cidr: string): string {
  const [address = '', prefixText = '', extra] = cidr.split('/');
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  const bits = family === 4 ? 32 : 128;
  if (!family || extra !== undefined || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    throw new Error(`Not a CIDR block: ${cidr}`);
  }
  const hostBits = BigInt(bits - Number(prefixText));
  const hostMask = (1n << hostBits) - 1n;
  const value = family === 4 ? parseIPv4(address) : parseIPv6(address);
  if ((value & hostMask) !== 0n) throw new Error(`Host bits set in CIDR block: ${cidr}`);
  const format = family === 4 ? formatIPv4 : formatIPv6;
  return `${format(value)}-${format(value | hostMask)}`;
}

function parseIPv4(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** Hex groups with at most one '::' (dotted IPv4 tails are not needed for the blocks above). */
function parseIPv6(address: string): bigint {
  if (address.includes('.')) throw new Error(`Dotted IPv6 form not supported: ${address}`);
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** RFC 5952 form: lowercase, longest run of two or more zero groups as '::'. */
function formatIPv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  const hex = (part: number[]) => part.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The text of turnserver.conf. Throws on values that could smuggle extra lines into the file. */
export function generateTurnConfig(options: TurnConfigOptions): string {
  for (const [name, value] of settingValues(options)) assertSingleToken(name, value);
  const lines: string[] = [
    '# coturn configuration generated by Treff at every start: edit Treff\'s settings, not this file.',
    `# Profile: ${options.profile}. Written for coturn 4.6.1.`,
    '',
    ...listening(options),
    ...authentication(options),
    ...tls(options),
    ...peerPolicy(options),
    ...hardening(),
    ...logging(options),
  ];
  return `${lines.join('\n')}\n`;
}

function settingValues(options: TurnConfigOptions): [string, string][] {
  return [
    ['realm', options.realm],
    ['secret', options.secret],
    ...(options.listeningIps ?? []).map((ip): [string, string] => ['listeningIps', ip]),
    ...(options.relayIp ? [['relayIp', options.relayIp] as [string, string]] : []),
    ...(options.externalIp ? [['externalIp', options.externalIp] as [string, string]] : []),
    ...options.allowedPeerIps.map((ip): [string, string] => ['allowedPeerIps', ip]),
    ...(options.tls ? [['tls.certFile', options.tls.certFile] as [string, string], ['tls.keyFile', options.tls.keyFile] as [string, string]] : []),
    ...(options.pidDir ? [['pidDir', options.pidDir] as [string, string]] : []),
  ];
}

function assertSingleToken(name: string, value: string): void {
  if (!/^[\x21-\x7e]+$/.test(value) || value.includes('#') || value.includes('"')) {
    throw new Error(`TURN setting ${name} must be printable ASCII without spaces, '#' or '"'`);
  }
}

function listening(options: TurnConfigOptions): string[] {
  return [
    '# One port for TURN over UDP and over TCP: offices that open only 10000/UDP, or only TCP, still reach the relay.',
    `listening-port=${options.port}`,
    ...(options.listeningIps ?? []).flatMap((ip) => ['# Listen only on this address.', `listening-ip=${ip}`]),
    ...(options.relayIp
      ? ['# Relay from this IPv4 address only: no IPv6 relaying, so IPv4-mapped peers (::ffff:a.b.c.d) cannot be reached (CVE-2026-27624).', `relay-ip=${options.relayIp}`]
      : []),
    ...(options.externalIp ? ['# 1:1 NAT: tell clients the public address that maps to the relay address.', `external-ip=${options.externalIp}`] : []),
    '# Relay ports handed to allocations; the firewall must let UDP reach this range.',
    `min-port=${options.minPort}`,
    `max-port=${options.maxPort}`,
    '',
  ];
}

function authentication(options: TurnConfigOptions): string[] {
  return [
    '# Realm sent in authentication challenges.',
    `realm=${options.realm}`,
    '# TURN REST API: Treff hands out short-lived credentials (expiry:participant, HMAC-SHA1 of the secret); no static passwords.',
    'use-auth-secret',
    '# Shared with Treff only: anyone who has it can mint credentials. This file is therefore mode 0600.',
    `static-auth-secret=${options.secret}`,
    '# FINGERPRINT on every message, as browsers send it, so TURN traffic is told apart from media on the same port.',
    'fingerprint',
    '# A nonce lives 10 minutes: a captured request cannot be replayed for long.',
    'stale-nonce=600',
    '# Concurrent allocations per user and on the whole server. coturn counts the user part after "expiry:",',
    '# and Treff derives that part from the client\'s address (IPv4, IPv6 /64): the quota binds per address.',
    `user-quota=${options.userQuota}`,
    `total-quota=${options.totalQuota}`,
    '# Bytes per second one allocation carries in each direction; more is dropped. Media needs far less.',
    `max-bps=${options.maxBps}`,
    '',
  ];
}

function tls(options: TurnConfigOptions): string[] {
  if (!options.tls) {
    return ['# No certificate: plain TURN only; no TLS or DTLS listeners.', 'no-tls', 'no-dtls', ''];
  }
  return [
    '# TURN over TLS (turns:): passes firewalls that allow nothing but HTTPS-like TCP.',
    `tls-listening-port=${options.tls.port}`,
    `cert=${options.tls.certFile}`,
    `pkey=${options.tls.keyFile}`,
    '# TLSv1 and TLSv1.1 are broken and unused by browsers.',
    'no-tlsv1',
    'no-tlsv1_1',
    '# Browsers never speak DTLS to a relay: one listener fewer.',
    'no-dtls',
    '',
  ];
}

function peerPolicy(options: TurnConfigOptions): string[] {
  const denied = DENIED_PEER_BLOCKS.flatMap((block) => {
    const ranges = coturnRanges(block.cidr);
    return [
      `# Deny ${block.cidr}: ${block.why}.`,
      ...(ranges.length === 0 ? ['# No line: coturn refuses it by itself, and as a range (::-::) it would refuse every peer.'] : []),
      ...(ranges.length > 1 ? ['# In pieces: a range starting at the zero address would refuse every IPv4 peer.'] : []),
      ...ranges.map((range) => `denied-peer-ip=${range}`),
    ];
  });
  const allowed = options.allowedPeerIps.flatMap((ip) => [
    '# Our own relay address: two relayed participants reach each other through their allocations here.',
    `allowed-peer-ip=${ip}`,
  ]);
  const loopback =
    options.profile === 'test'
      ? [
          '# !!! TEST PROFILE ONLY — NEVER IN PRODUCTION !!!',
          '# Lets the relay send to loopback peers (with allowed-peer-ip), so tests on 127.0.0.1 can relay.',
          '# On a real server it would expose every service bound to the relay host\'s loopback.',
          'allow-loopback-peers',
          '',
        ]
      : [];
  return [
    '# Not an open relay: nobody reaches the operator\'s networks or special-purpose addresses through it.',
    '# Ranges, not CIDR: coturn 4.6.1 rejects CIDR here ("Wrong address format") and starts without the block.',
    '# No range starts at the zero address (0.0.0.0, ::): coturn reads that as "no lower bound" and sorts all IPv4 below IPv6.',
    ...denied,
    ...allowed,
    '',
    ...loopback,
  ];
}

function hardening(): string[] {
  return [
    '# The admin CLI (telnet on 127.0.0.1:5766, empty password) is on by default.',
    'no-cli',
    '# Never relay to broadcast or multicast addresses.',
    'no-multicast-peers',
    '# Browsers relay UDP only: no TCP relay (RFC 6062) that could open connections to TCP services.',
    'no-tcp-relay',
    '# NAT behaviour discovery is unused by WebRTC and needs a second address; it also amplifies.',
    'no-rfc5780',
    '# Answer only RFC 5389 STUN, not the classic RFC 3489 form.',
    'no-stun-backward-compatibility',
    '# Do not advertise the coturn version.',
    'no-software-attribute',
    '',
  ];
}

function logging(options: TurnConfigOptions): string[] {
  return [
    '# Log to stdout: Treff prefixes the lines and passes them on.',
    'log-file=stdout',
    '# No log file names with pid and date appended.',
    'simple-log',
    ...(options.pidDir
      ? ['# Pid file in Treff\'s data directory.', `pidfile=${options.pidDir.replace(/\/$/, '')}/turnserver.pid`]
      : ['# No pid file (an empty name turns it off): Treff supervises the process itself.', 'pidfile=""']),
  ];
}

/** Writes the file readable by its owner only (it contains the secret), replacing any previous one atomically. */
export function writeTurnConfig(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

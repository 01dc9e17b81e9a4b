import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DENIED_PEER_BLOCKS, DENIED_PEER_RANGES, cidrToRange, coturnRanges, generateTurnConfig, relayQuotas, writeTurnConfig, type TurnConfigOptions } from '../../turn/config.js';

const production: TurnConfigOptions = {
  profile: 'production',
  realm: 'meet.example.org',
  port: 10000,
  relayIp: '203.0.113.7',
  minPort: 49152,
  maxPort: 65535,
  secret: 'a-shared-secret-of-some-length',
  allowedPeerIps: ['203.0.113.7'],
  ...relayQuotas(49152, 65535),
};

const settingLines = (text: string) => text.split('\n').filter((line) => line && !line.startsWith('#'));

describe('cidrToRange: coturn 4.6.1 takes denied peers only as ranges', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0-10.255.255.255'],
    ['172.16.0.0/12', '172.16.0.0-172.31.255.255'],
    ['100.64.0.0/10', '100.64.0.0-100.127.255.255'],
    ['198.18.0.0/15', '198.18.0.0-198.19.255.255'],
    ['255.255.255.255/32', '255.255.255.255-255.255.255.255'],
    ['0.0.0.0/0', '0.0.0.0-255.255.255.255'],
    ['::1/128', '::1-::1'],
    ['::/128', '::-::'],
    ['::ffff:0:0/96', '::ffff:0:0-::ffff:ffff:ffff'],
    ['64:ff9b::/96', '64:ff9b::-64:ff9b::ffff:ffff'],
    ['fe80::/10', 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['fc00::/7', 'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::/32', '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8:0:1::/64', '2001:db8:0:1::-2001:db8:0:1:ffff:ffff:ffff:ffff'],
  ])('%s → %s', (cidr, range) => {
    expect(cidrToRange(cidr)).toBe(range);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.1/8', 'fe80::/129', 'example.org/8', '10.0.0.0/8/1'])('refuses %s', (bad) => {
    expect(() => cidrToRange(bad)).toThrow();
  });
});

// coturn 4.6.1's peer check, transcribed from ns_turn_ioaddr.c (ioa_addr_in_range, addr_any,
// addr_less_eq) and ns_turn_server.c (good_peer_addr), to check every range against many addresses
// at once; test/integration/coturn.test.ts checks the real coturn with peers of our own.
interface Address {
  family: 4 | 6;
  bytes: number[];
}

function parseAddress(text: string): Address {
  if (!text.includes(':')) return { family: 4, bytes: text.split('.').map(Number) };
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hex = dotted ? text.slice(0, dotted.index) + [0, 2].map((i) => ((Number(dotted[i + 1]) << 8) | Number(dotted[i + 2])).toString(16)).join(':') : text;
  const [head = '', tail] = hex.split('::');
  const groups = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const zeros = tail === undefined ? [] : Array<number>(8 - groups(head).length - groups(tail).length).fill(0);
  return { family: 6, bytes: [...groups(head), ...zeros, ...groups(tail ?? '')].flatMap((group) => [group >> 8, group & 255]) };
}

/** addr_less_eq: another family compares by AF_INET (2) < AF_INET6 (10); IPv6 byte by byte. */
function lessEq(a: Address, b: Address): boolean {
  if (a.family !== b.family) return a.family < b.family;
  if (a.family === 4) return a.bytes.reduce((n, byte) => n * 256 + byte, 0) <= b.bytes.reduce((n, byte) => n * 256 + byte, 0);
  return a.bytes.every((byte, i) => byte <= b.bytes[i]!);
}

/** ioa_addr_in_range: an all-zero bound is no bound. */
function coturnInRange(range: string, peer: string): boolean {
  const [min, max] = range.split('-').map(parseAddress) as [Address, Address];
  const address = parseAddress(peer);
  const zero = (bound: Address) => bound.bytes.every((byte) => byte === 0);
  return (zero(min) || lessEq(min, address)) && (zero(max) || lessEq(address, max));
}

/** good_peer_addr's own checks before the lists: multicast (no-multicast-peers), loopback, zero (0.0.0.0/8, ::). */
function coturnRefusesItself(peer: string): boolean {
  const { family, bytes } = parseAddress(peer);
  if (family === 4) return bytes[0]! >= 224 || bytes[0] === 127 || bytes[0] === 0;
  return bytes[0] === 255 || bytes.every((byte, i) => byte === (i === 15 ? 1 : 0)) || bytes.every((byte) => byte === 0);
}

const refused = (peer: string) => coturnRefusesItself(peer) || DENIED_PEER_RANGES.some((range) => coturnInRange(range, peer));

describe('the denied ranges as coturn 4.6.1 reads them', () => {
  it('reproduces the bug measured on coturn: ::-::ffff:ffff and ::-:: match every IPv4 peer', () => {
    expect(coturnInRange('::-::ffff:ffff', '20.77.250.2')).toBe(true);
    expect(coturnInRange('::-::', '20.77.250.2')).toBe(true);
    expect(coturnInRange('::-::', '2a10:77::2')).toBe(true);
    expect(coturnInRange('::ffff:0:0-::ffff:ffff:ffff', '20.77.250.2')).toBe(false);
  });

  it.each(['20.77.250.2', '8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.0', '11.0.0.1', '172.32.0.1', '223.255.255.254', '2a10:77::2', '2001:4860:4860::8888', '2606:4700::1111', '2003::1', '2001:db9::1'])(
    'lets a relayed browser reach the public peer %s',
    (peer) => {
      expect(DENIED_PEER_RANGES.filter((range) => coturnInRange(range, peer))).toEqual([]);
      expect(coturnRefusesItself(peer)).toBe(false);
    },
  );

  it.each([
    '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.255.0.1', '169.254.169.254', '172.16.5.5', '172.31.255.255',
    '192.168.1.1', '192.0.0.1', '192.0.2.1', '198.18.0.1', '198.51.100.1', '203.0.113.1', '224.0.0.1', '240.0.0.1', '255.255.255.255',
    '::', '::1', '::127.0.0.1', '::10.0.0.0', '::0.0.1.0', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:0.0.0.0', '64:ff9b::a00:1', '64:ff9b:1::1', '100::1',
    '2001::1', '2001:db8::1', '2002:a00:1::1', '3fff::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1', 'fec0::1', 'ff02::1',
  ])('still refuses %s', (peer) => {
    expect(refused(peer)).toBe(true);
  });

  it('splits only blocks that start at the zero address, and never emits a zero lower bound', () => {
    expect(coturnRanges('::/96')).toEqual(['::100:0-::ffff:ffff', '::1:0-::ffff:ffff', '::100-::ffff:ffff', '::1-::ffff:ffff']);
    expect(coturnRanges('::/128')).toEqual([]);
    expect(coturnRanges('0.0.0.0/8')).toEqual(['0.0.0.1-0.255.255.255']);
    expect(coturnRanges('10.0.0.0/8')).toEqual(['10.0.0.0-10.255.255.255']);
    for (const range of DENIED_PEER_RANGES) expect(parseAddress(range.split('-')[0]!).bytes.some((byte) => byte !== 0), range).toBe(true);
  });
});

describe('relayQuotas: one address cannot fill the relay', () => {
  it('gives one address four people in full meetings (11 peers, UDP + TCP + TLS each), the relay one allocation per relay port', () => {
    expect(relayQuotas(49152, 65535)).toEqual({ userQuota: 132, totalQuota: 16384, maxBps: 625_000 });
    expect(relayQuotas(50000, 50009).totalQuota).toBe(132);
  });

  it('writes the quotas and the bandwidth cap into the configuration', () => {
    const lines = settingLines(generateTurnConfig(production));
    expect(lines).toEqual(expect.arrayContaining(['user-quota=132', 'total-quota=16384', 'max-bps=625000']));
  });
});

describe('generateTurnConfig: an operator gets a commented coturn configuration', () => {
  it('denies every special-purpose range, written as a range with no CIDR slash', () => {
    const text = generateTurnConfig(production);
    const denied = settingLines(text).filter((line) => line.startsWith('denied-peer-ip='));
    expect(denied).toEqual(DENIED_PEER_RANGES.map((range) => `denied-peer-ip=${range}`));
    for (const line of denied) expect(line).toMatch(/^denied-peer-ip=[0-9a-f.:]+-[0-9a-f.:]+$/);
    expect(settingLines(text).join('\n')).not.toContain('/');
  });

  it('covers loopback, "this network", private, link-local, CGNAT, documentation, multicast and the IPv6 tricks', () => {
    const cidrs = DENIED_PEER_BLOCKS.map((block) => block.cidr);
    for (const cidr of [
      '127.0.0.0/8', '0.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10',
      '224.0.0.0/4', '240.0.0.0/4', '192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24',
      '255.255.255.255/32', '::1/128', '::/128', '::ffff:0:0/96', '64:ff9b::/96', 'fc00::/7', 'fe80::/10', 'ff00::/8', '2001:db8::/32',
    ]) {
      expect(cidrs).toContain(cidr);
    }
    expect(DENIED_PEER_RANGES).toContain('::ffff:0:0-::ffff:ffff:ffff');
    expect(DENIED_PEER_RANGES).toContain('127.0.0.0-127.255.255.255');
  });

  it('never lets the production profile reach loopback peers, whatever else is set', () => {
    for (const variant of [production, { ...production, allowedPeerIps: ['127.0.0.1'], relayIp: '127.0.0.1' }]) {
      expect(generateTurnConfig(variant)).not.toContain('allow-loopback-peers');
    }
  });

  it('allows loopback peers only in the test profile, with a loud warning', () => {
    const text = generateTurnConfig({ ...production, profile: 'test' });
    expect(settingLines(text)).toContain('allow-loopback-peers');
    expect(text).toMatch(/# !!! TEST PROFILE ONLY — NEVER IN PRODUCTION !!!\n(#.*\n)*allow-loopback-peers/);
  });

  it('explains every setting with a comment line above it', () => {
    const lines = generateTurnConfig({ ...production, tls: { port: 443, certFile: '/etc/treff/cert.pem', keyFile: '/etc/treff/key.pem' } }).split('\n');
    lines.forEach((line, index) => {
      if (!line || line.startsWith('#')) return;
      // A setting either has its own comment or continues a commented group (min/max port, cert/pkey, quotas).
      const above = lines.slice(0, index).reverse().find((previous) => !previous || previous.startsWith('#'));
      expect(above, line).toMatch(/^#/);
    });
  });

  it('turns TLS off completely without a certificate', () => {
    const lines = settingLines(generateTurnConfig(production));
    expect(lines).toEqual(expect.arrayContaining(['no-tls', 'no-dtls']));
    expect(lines.some((line) => /^(cert|pkey|tls-listening-port)=/.test(line))).toBe(false);
  });

  it('offers TURN over TLS on the given port with modern TLS only', () => {
    const lines = settingLines(generateTurnConfig({ ...production, tls: { port: 443, certFile: '/etc/treff/cert.pem', keyFile: '/etc/treff/key.pem' } }));
    expect(lines).toEqual(expect.arrayContaining(['tls-listening-port=443', 'cert=/etc/treff/cert.pem', 'pkey=/etc/treff/key.pem', 'no-tlsv1', 'no-tlsv1_1']));
    expect(lines).not.toContain('no-tls');
  });

  it('keeps the admin CLI and multicast off and relays UDP only', () => {
    const lines = settingLines(generateTurnConfig(production));
    expect(lines).toEqual(
      expect.arrayContaining(['no-cli', 'no-multicast-peers', 'no-tcp-relay', 'no-rfc5780', 'no-stun-backward-compatibility', 'no-software-attribute', 'fingerprint', 'stale-nonce=600']),
    );
  });

  it('writes no pid file unless given a directory', () => {
    expect(settingLines(generateTurnConfig(production))).toContain('pidfile=""');
    expect(settingLines(generateTurnConfig({ ...production, pidDir: '/var/lib/treff/' }))).toContain('pidfile=/var/lib/treff/turnserver.pid');
  });

  it.each([
    ['a secret with a line break', { secret: 'a-shared-secret\nallow-loopback-peers' }],
    ['a secret with a space', { secret: 'a shared secret of some length' }],
    ['a secret with #', { secret: 'a-shared-secret#of-some-length' }],
    ['a realm with a line break', { realm: 'meet\nno-auth' }],
    ['an allowed peer with a line break', { allowedPeerIps: ['1.2.3.4\nallow-loopback-peers'] }],
  ])('refuses %s, which could smuggle settings into the file', (_, override) => {
    expect(() => generateTurnConfig({ ...production, ...override })).toThrow(/printable ASCII/);
  });

  it('renders a representative production configuration', async () => {
    await expect(
      generateTurnConfig({ ...production, listeningIps: ['10.1.2.3'], relayIp: '10.1.2.3', externalIp: '203.0.113.7', allowedPeerIps: ['10.1.2.3', '203.0.113.7'] }),
    ).toMatchFileSnapshot('__snapshots__/turnserver.production.conf');
  });
});

describe('writeTurnConfig: the file holds the secret', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is readable by its owner only, even when replacing a world-readable file', () => {
    dir = mkdtempSync(join(tmpdir(), 'treff-turn-config-'));
    const path = join(dir, 'turnserver.conf');
    writeFileSync(path, 'old', { mode: 0o644 });
    writeTurnConfig(path, 'static-auth-secret=abc\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('static-auth-secret=abc\n');
  });
});

// What an operator relies on: named configuration errors, --help, readiness, Prometheus metrics
// that say nothing about who met where, logs without SDP or names, and the server's defences
// (origins, connections per address, slow readers, security headers on every answer).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { makeSelfSignedCertificate } from '../../scripts/cert.js';
import { loadConfig } from '../../signal/config.js';
import { createLogger } from '../../signal/log.js';
import { SETTING_LIST, flagOf } from '../../signal/settings.js';
import { startMain, waitForOutput, type MainProcess } from '../helpers/processes.js';
import { TestClient, greetedClient, startTestServer, type TestServer } from '../helpers/server.js';

const SDP = (fingerprint: string) =>
  `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n` +
  `a=ice-ufrag:Qz7p\r\na=ice-pwd:secretpasswordofice1234\r\na=fingerprint:sha-256 ${fingerprint}\r\na=setup:actpass\r\na=mid:0\r\n`;
const FINGERPRINT_A = '6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08';
const CANDIDATE = { candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.5 rport 5000', sdpMid: '0', sdpMLineIndex: 0 };

const DEFAULT_LIMITS = loadConfig({}, { staticDir: '' }).limits;
const clients: TestClient[] = [];
async function participant(server: TestServer, label: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
  const client = await greetedClient(server.wsUrl, label, options);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

// ---- A strict reader of the Prometheus text format (version 0.0.4) ----

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  expect(text.endsWith('\n'), 'ends with a newline').toBe(true);
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`;
    let match: RegExpExecArray | null;
    if ((match = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      expect(helps.has(match[1]!), `${where}: HELP given twice`).toBe(false);
      helps.add(match[1]!);
    } else if ((match = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      expect(types.has(match[1]!), `${where}: TYPE given twice`).toBe(false);
      expect(samples.some((s) => s.name === match![1]), `${where}: TYPE after samples`).toBe(false);
      types.set(match[1]!, match[2]!);
    } else if ((match = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line))) {
      const [, name, labelText, valueText] = match;
      expect(types.has(name!), `${where}: sample without TYPE`).toBe(true);
      const labels: Record<string, string> = {};
      if (labelText) {
        const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
        let consumed = 0;
        while (consumed < labelText.length) {
          labelPattern.lastIndex = consumed;
          const label = labelPattern.exec(labelText);
          expect(label, `${where}: bad label syntax`).not.toBeNull();
          labels[label![1]!] = label![2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
          consumed = labelPattern.lastIndex;
        }
      }
      expect(valueText, `${where}: value`).toMatch(/^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/);
      const series = `${name}${JSON.stringify(labels)}`;
      expect(seen.has(series), `${where}: duplicate series`).toBe(false);
      seen.add(series);
      if (types.get(name!) === 'counter') expect(Number(valueText), `${where}: counters are never negative`).toBeGreaterThanOrEqual(0);
      samples.push({ name: name!, labels, value: Number(valueText) });
    } else {
      throw new Error(`${where}: not Prometheus text`);
    }
  }
  return { types, samples };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;

describe('configuration an operator gets wrong', () => {
  let dir: string;
  let main: MainProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'treff-ops-config-'));
  });

  afterEach(async () => {
    await main?.stop();
    main = undefined;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('lists every setting with its variable, file key and flag under --help, and exits 0', async () => {
    main = startMain({}, ['--help']);
    expect(await main.exited).toBe(0);
    for (const setting of SETTING_LIST) {
      expect(main.output()).toContain(setting.env);
      expect(main.output()).toContain(flagOf(setting));
      expect(main.output()).toContain(`[${setting.key}]`);
    }
  });

  it.each([
    ['a config file that does not exist', () => ({ env: { TREFF_CONFIG: join(dir, 'missing.json') } }), /Invalid setting TREFF_CONFIG: cannot read .*missing\.json: ENOENT/],
    ['a config file that is not JSON', () => ({ args: ['--config', file('broken.json', '{ "port": 8080,')] }), /Invalid setting TREFF_CONFIG: .*broken\.json is not valid JSON/],
    ['a misspelt key in the config file', () => ({ env: { TREFF_CONFIG: file('typo.json', '{ "roomCapcity": 4 }') } }), /Invalid setting "roomCapcity" in .*typo\.json: is not a setting/],
    ['a string where the file wants a number', () => ({ env: { TREFF_CONFIG: file('type.json', '{ "limits": { "rateBurst": "lots" } }') } }), /Invalid setting "limits\.rateBurst" in .*type\.json: must be a whole number/],
    ['an out-of-range value in the file', () => ({ env: { TREFF_CONFIG: file('range.json', '{ "roomCapacity": 99 }') } }), /Invalid setting TREFF_ROOM_CAPACITY \(from "roomCapacity" in .*range\.json\): 99 is outside 2–50/],
    ['an unknown flag', () => ({ args: ['--room-capacty', '4'] }), /Invalid setting --room-capacty: unknown option/],
    ['a bad flag value', () => ({ args: ['--log-level', 'loud'] }), /Invalid setting TREFF_LOG_LEVEL \(from --log-level\): "loud" is not one of debug, info, warn, error/],
    ['a certificate without its key', () => ({ env: { TREFF_TLS_CERT: '/etc/ssl/treff.pem' } }), /Invalid setting TREFF_TLS_KEY: HTTPS needs both/],
    ['a certificate file that is not there', () => ({ env: { TREFF_TLS_CERT: join(dir, 'none.pem'), TREFF_TLS_KEY: join(dir, 'none.key') } }), /Invalid setting TREFF_TLS_CERT: cannot read .*none\.pem: ENOENT/],
    ['a key that belongs to another certificate', () => {
      const a = makeSelfSignedCertificate({ dir: join(dir, 'a'), hosts: ['localhost'] });
      const b = makeSelfSignedCertificate({ dir: join(dir, 'b'), hosts: ['localhost'] });
      return { env: { TREFF_TLS_CERT: a.certFile, TREFF_TLS_KEY: b.keyFile } };
    }, /Invalid setting TREFF_TLS_KEY: .* is not the key of the certificate/],
    ['a redirect without HTTPS', () => ({ env: { TREFF_HTTP_REDIRECT_PORT: '80' } }), /Invalid setting TREFF_HTTP_REDIRECT_PORT: redirecting to HTTPS needs/],
    ['an allowed origin with a path', () => ({ env: { TREFF_ALLOWED_ORIGINS: 'https://intranet.example.org/treff' } }), /Invalid setting TREFF_ALLOWED_ORIGINS: "https:\/\/intranet\.example\.org\/treff" is not an origin/],
    ['a footer link that is not a web address', () => ({ env: { TREFF_PRIVACY_URL: 'javascript:alert(1)' } }), /Invalid setting TREFF_PRIVACY_URL: "javascript:alert\(1\)" is not an https:\/\/ address/],
    ['a short metrics token', () => ({ env: { TREFF_METRICS_TOKEN: 'abc' } }), /Invalid setting TREFF_METRICS_TOKEN: must be at least 16 characters/],
    ['an unreadable TURN secret file', () => ({ env: { TREFF_TURN_SECRET_FILE: join(dir, 'no-secret') } }), /Invalid setting TREFF_TURN_SECRET_FILE: cannot read/],
  ])('stops at %s with a message naming the setting', async (_, make, expected) => {
    const { env = {}, args = [] } = make() as { env?: Record<string, string>; args?: string[] };
    main = startMain(env, args);
    expect(await main.exited).toBe(1);
    const line = main.logs().find((entry) => entry.level === 'error');
    expect(line, main.output()).toBeDefined();
    expect(String(line!.msg)).toMatch(/^Treff cannot start: /);
    expect(String(line!.msg)).toMatch(expected);
  });

  it('reads the config file, lets the environment override it and flags override both', async () => {
    const config = file(
      'good.json',
      JSON.stringify({
        $comment: 'the town hall',
        roomCapacity: 4,
        defaultLanguage: 'en',
        footerLinks: { privacy: 'https://example.org/datenschutz', imprint: '/impressum' },
        logLevel: 'warn',
      }),
    );
    main = startMain({ TREFF_CONFIG: config, TREFF_DEFAULT_LANGUAGE: 'de', TREFF_LOG_LEVEL: 'debug' }, ['--log-level', 'info']);
    const [, url] = await waitForOutput(main, /open (http:\/\/127\.0\.0\.1:\d+)\//);
    const clientConfig = await (await fetch(`${url}/client-config.json`)).json();
    expect(clientConfig).toEqual({ footerLinks: { privacy: 'https://example.org/datenschutz', imprint: '/impressum' }, defaultLanguage: 'de' });
    // info from the flag, not warn (file) or debug (environment): the start line was written.
    expect(main.logs().some((line) => line.level === 'info')).toBe(true);
    expect(main.logs().some((line) => line.level === 'debug')).toBe(false);
  });
});

describe('readiness and metrics', () => {
  let server: TestServer;
  let ready = { ready: true } as { ready: boolean; reason?: string };

  beforeAll(async () => {
    server = await startTestServer({ readiness: () => ready, relayStatus: () => ({ up: ready.ready, restarts: 2 }) });
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers /readyz with 200 while listening and the relay runs, 503 with the reason otherwise', async () => {
    const up = await fetch(`${server.url}/readyz`);
    expect([up.status, await up.text()]).toEqual([200, 'ready']);
    ready = { ready: false, reason: 'the relay (coturn) is not running' };
    const down = await fetch(`${server.url}/readyz`);
    expect([down.status, await down.text()]).toEqual([503, 'not ready: the relay (coturn) is not running']);
    ready = { ready: true };
  });

  it('counts a day of meetings in valid Prometheus text, without a meeting name, display name or id in it', async () => {
    const ada = await participant(server, 'ada');
    const bob = await participant(server, 'bob');
    const cyd = await participant(server, 'cyd');
    await ada.join('Smith Family Budget', 'Ada Lovelace');
    await bob.join('smith-family-budget', 'Bob Builder');
    await cyd.join('Dr Jekyll Therapy', 'Cyd Charisse');
    ada.send({ type: 'signal', to: bob.id, data: { type: 'offer', sdp: SDP(FINGERPRINT_A) } });
    await bob.next('signal');
    bob.send({ type: 'signal', to: ada.id, data: { type: 'candidate', candidate: CANDIDATE } });
    await ada.next('signal');
    ada.sendRaw('not json');
    await ada.next('error');
    cyd.send({ type: 'join', room: 'another', name: 'Cyd' });
    await cyd.next('error');

    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { types, samples } = parsePrometheus(text);
    expect(value(samples, 'treff_connections')).toBe(3);
    expect(value(samples, 'treff_rooms')).toBe(2);
    expect(value(samples, 'treff_participants')).toBe(3);
    expect(value(samples, 'treff_joins_total')).toBe(3);
    expect(value(samples, 'treff_signals_relayed_total')).toBe(2);
    expect(value(samples, 'treff_refusals_total', { reason: 'bad-message' })).toBe(1);
    expect(value(samples, 'treff_refusals_total', { reason: 'already-in-room' })).toBe(1);
    expect(value(samples, 'treff_relay_restarts_total')).toBe(2);
    expect(value(samples, 'treff_relay_up')).toBe(1);
    expect(types.get('treff_joins_total')).toBe('counter');
    expect(types.get('treff_rooms')).toBe('gauge');
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    for (const secret of ['smith', 'Smith', 'jekyll', 'Jekyll', 'Ada', 'Bob', 'Cyd', 'Lovelace', ada.id, bob.id, cyd.id, '127.0.0.1', '192.0.2.10', FINGERPRINT_A]) {
      expect(text).not.toContain(secret);
    }
  });

  it('refuses metrics to a request relayed by a local reverse proxy when no token is set', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('treff_');
  });
});

describe('metrics behind a bearer token', () => {
  let server: TestServer;
  const token = 'a-long-random-metrics-token-1234';

  beforeAll(async () => {
    server = await startTestServer({ metricsToken: token });
  });

  afterAll(async () => {
    await server.close();
  });

  it('asks for the token (401), refuses a wrong one, and serves the right one', async () => {
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    const right = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('# TYPE treff_connections gauge');
  });
});

describe('logs of a full call', () => {
  let server: TestServer;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }) });
  });

  afterAll(async () => {
    await server.close();
  });

  it('hold no SDP, candidate, password, meeting name or display name, even at debug level', async () => {
    const ada = await participant(server, 'ada');
    const bob = await participant(server, 'bob');
    await ada.join('Confidential Board Meeting', 'Adelheid Geheimnisträger');
    ada.send({ type: 'set-password', password: 'hunter2-correct-horse' });
    await ada.next('room-settings', 5000);
    bob.send({ type: 'join', room: 'confidential-board-meeting', name: 'Bartholomew Secretname', password: 'hunter3-wrong-guess' });
    await expect(bob.next('error', 5000)).resolves.toMatchObject({ code: 'wrong-password' });
    bob.send({ type: 'join', room: 'confidential-board-meeting', name: 'Bartholomew Secretname', password: 'hunter2-correct-horse' });
    await bob.next('joined', 5000);
    ada.send({ type: 'signal', to: bob.id, data: { type: 'offer', sdp: SDP(FINGERPRINT_A) } });
    bob.send({ type: 'signal', to: ada.id, data: { type: 'candidate', candidate: CANDIDATE } });
    ada.send({ type: 'signal', to: bob.id, data: { type: 'offer', sdp: 42 } });
    await ada.next('error');
    bob.send({ type: 'join', room: 'Confidential Board Meeting', name: 'Bartholomew Secretname', password: 'hunter2-correct-horse' });
    await bob.next('error');
    await ada.close();
    await bob.close();
    await vi.waitFor(() => expect(server.server.rooms.roomCount).toBe(0));

    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    for (const secret of ['v=0', 'a=fingerprint', FINGERPRINT_A, 'ice-pwd', 'candidate:', '192.0.2.10', 'hunter2', 'hunter3', 'scrypt', 'Confidential', 'confidential', 'Adelheid', 'Geheimnis', 'Bartholomew', 'Secretname']) {
      expect(log).not.toContain(secret);
    }
  });
});

describe('who may connect', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ allowedOrigins: ['https://intranet.example.org'], limits: { ...DEFAULT_LIMITS, connectionsPerAddress: 3 } });
  });

  afterAll(async () => {
    await server.close();
  });

  /** Opens a socket as a page of `origin` would; resolves with the HTTP status of a refusal, or 101. */
  const upgradeAs = (origin: string | undefined) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(server.wsUrl, origin === undefined ? {} : { origin });
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('error', () => undefined);
    });

  it('lets the page of its own origin and listed origins open the WebSocket, and refuses others with 403', async () => {
    expect(await upgradeAs(`http://127.0.0.1:${server.port}`)).toBe(101);
    expect(await upgradeAs('https://intranet.example.org')).toBe(101);
    expect(await upgradeAs(undefined)).toBe(101); // not a browser: no Origin, nothing to protect
    for (const evil of ['https://evil.example', 'http://127.0.0.1:1', `http://127.0.0.1.evil.example:${server.port}`, 'null', 'https://intranet.example.org.evil.example', 'file://']) {
      expect(await upgradeAs(evil), evil).toBe(403);
    }
  });

  it('closes connections beyond the per-address limit with 4029 and a reason, and admits again once one leaves', async () => {
    // The limit is 3 here (set above); sockets of the origin test are closed by now.
    const three = await Promise.all([1, 2, 3].map((n) => participant(server, `tab-${n}`)));
    const fourth = await TestClient.connect(server.wsUrl, 'tab-4');
    await expect(fourth.closed).resolves.toEqual({ code: 4029, reason: 'too many connections from your address' });
    // The three are unharmed.
    three[0]!.send({ type: 'ping' });
    await expect(three[0]!.next('pong')).resolves.toEqual({ type: 'pong' });

    await three[2]!.close();
    const again = await participant(server, 'tab-5');
    again.send({ type: 'ping' });
    await expect(again.next('pong')).resolves.toEqual({ type: 'pong' });
    expect(server.server.counters.get('refusals', 'too-many-connections')).toBe(1);
  });
});

describe('a participant whose browser stops reading', () => {
  let server: TestServer;

  beforeAll(async () => {
    // A generous message budget, so that only the slow reader limits the sender.
    server = await startTestServer({ limits: { ...DEFAULT_LIMITS, rate: { burst: 10_000, perSecond: 10_000 } } });
  });

  afterAll(async () => {
    await server.close();
  });

  // Issue 11, attack 9: dropping the slow reader let a member throw another out (flood, then
  // peer-lost). Now the sender is held back once 256 KiB wait for the reader: memory stays bounded
  // and the reader keeps its seat.
  it('holds back whoever sends to it once 256 KiB wait for it, instead of growing the server memory or dropping it', async () => {
    const sender = await participant(server, 'sender');
    const stuck = await participant(server, 'stuck');
    await sender.join('backpressure', 'Sender');
    await stuck.join('backpressure', 'Stuck');
    (stuck as unknown as { socket: { _socket: { pause(): void } } }).socket._socket.pause();

    const sdp = 'x'.repeat(40_000);
    const started = Date.now();
    let rounds = 0;
    while (Date.now() - started < 3000 && rounds++ < 300) {
      for (let i = 0; i < 20; i++) sender.send({ type: 'signal', to: stuck.id, data: { type: 'offer', sdp } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    await expect(sender.next((m) => m.type === 'error' && m.code === 'rate-limited', 5000)).resolves.toMatchObject({ code: 'rate-limited' });
    expect(server.server.counters.get('refusals', 'slow-receiver')).toBeGreaterThan(0);
    expect(stuck.isOpen).toBe(true);
    expect(server.server.rooms.roomOf(stuck.id)).toBe('backpressure');
    sender.send({ type: 'ping' });
    await expect(sender.next('pong')).resolves.toEqual({ type: 'pong' });
  });
});

describe('security headers on every answer', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['GET', '/'],
    ['GET', '/a-meeting'],
    ['GET', '/assets/app-ABCDEF12.js'],
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/metrics'],
    ['GET', '/client-config.json'],
    ['GET', '/nope.txt'],
    ['POST', '/a-meeting'],
    ['DELETE', '/healthz'],
  ])('%s %s', async (method, path) => {
    const res = await fetch(server.url + path, { method });
    await res.arrayBuffer();
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*connect-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('permissions-policy')).toBe('camera=(self), microphone=(self), display-capture=(self)');
    // Plain HTTP: no HSTS (that is only sent over TLS, see https.test.ts).
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('also on the refusal of a WebSocket from another origin', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13', origin: 'https://evil.example' };
      request(`${server.url}/ws`, { headers }, resolve).on('error', reject).end();
    });
    res.resume();
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

// Hostile HTTP against the real server (issue 11, item 12): HEAD, cross-origin isolation headers,
// DNS rebinding through the Host header, ambiguous request framing, the server banner. Requests
// go over raw TCP sockets where fetch or curl would normalise them (duplicate headers,
// Transfer-Encoding, pipelining a GET behind a HEAD).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../signal/log.js';
import { freePort } from '../helpers/processes.js';
import { TEST_APP_JS, startTestServer, type TestServer } from '../helpers/server.js';

interface RawResponse {
  status: number;
  /** Lower-cased names, in the order sent; repeated headers appear repeatedly. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Sends bytes as they are and reads until the server closes the connection or `responses`
 * answers have been parsed. `bodiless` lists which answers have no body (answers to HEAD).
 */
function raw(port: number, request: string | Buffer, responses = 1, bodiless: boolean[] = []): Promise<{ responses: RawResponse[]; closed: boolean; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const parsed = parse(data, bodiless);
      if (!closed && parsed.responses.length < responses) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parsed, closed });
    };
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      reject(new Error(`no complete answer within 5 s; got ${JSON.stringify(data.toString('latin1'))}`));
    }, 5000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

function parse(data: Buffer, bodiless: boolean[]): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset);
    if (end < 0) break;
    const [statusLine, ...lines] = data.subarray(offset, end).toString('latin1').split('\r\n');
    const headers = lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
    });
    const length = Number(headers.find(([name]) => name === 'content-length')?.[1] ?? 0);
    const bodyLength = bodiless[responses.length] ? 0 : length;
    if (data.length < end + 4 + bodyLength) break;
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + bodyLength) });
    offset = end + 4 + bodyLength;
  }
  return { responses, rest: data.subarray(offset) };
}

const header = (response: RawResponse, name: string) => response.headers.filter(([n]) => n === name).map(([, v]) => v);
const withoutDate = (response: RawResponse) => response.headers.filter(([name]) => name !== 'date');

function get(path: string, host: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
}

function upgrade(host: string, origin: string): string {
  return (
    `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${origin ? `Origin: ${origin}\r\n` : ''}\r\n`
  );
}

describe('HEAD answers wherever GET does (RFC 9110, 9.3.2)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it.each([
    ['/', ''],
    ['/team-weekly', ''],
    ['/assets/app-ABCDEF12.js', 'Accept-Encoding: br\r\n'],
    ['/assets/app-ABCDEF12.js', ''],
    ['/healthz', ''],
    ['/readyz', ''],
    ['/metrics', ''],
    ['/client-config.json', ''],
    ['/nope.txt', ''],
  ])('HEAD %s %j: the GET headers, no body, the connection still usable', async (path, extra) => {
    const host = `127.0.0.1:${server.port}`;
    // HEAD then GET pipelined on one connection: a body after the HEAD headers would be read as
    // the start of the GET's answer.
    const { responses } = await raw(server.port, `HEAD ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n` + get(path, host, extra), 2, [true, false]);
    expect(responses).toHaveLength(2);
    const [head, got] = responses as [RawResponse, RawResponse];
    expect(head.status).toBe(got.status);
    expect(got.status).not.toBe(405);
    const sorted = (r: RawResponse) => withoutDate(r).sort(([a], [b]) => a.localeCompare(b));
    expect(sorted(head)).toEqual(sorted(got));
    expect(Number(header(got, 'content-length')[0])).toBe(got.body.length);
    if (path === '/assets/app-ABCDEF12.js' && extra === '') expect(got.body.toString()).toBe(TEST_APP_JS);
  });

  it('other methods get 405 naming both', async () => {
    const { responses } = await raw(server.port, `DELETE / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    expect(responses[0]!.status).toBe(405);
    expect(header(responses[0]!, 'allow')).toEqual(['GET, HEAD']);
  });
});

describe('cross-origin isolation headers on every answer', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ publicHost: 'meet.example.org' });
  });
  afterAll(() => server.close());

  it.each([
    ['the app', get('/', 'meet.example.org'), 200],
    ['a 404', get('/nope.txt', 'meet.example.org'), 404],
    ['a 405', `POST / HTTP/1.1\r\nHost: meet.example.org\r\nContent-Length: 0\r\n\r\n`, 405],
    ['a framing refusal', get('/', 'meet.example.org', 'Transfer-Encoding: chunked\r\n'), 400],
    ['a Host refusal', get('/', 'evil.example'), 421],
    ['a refused WebSocket', upgrade('meet.example.org', 'https://evil.example'), 403],
  ])('%s', async (_label, request, status) => {
    const { responses } = await raw(server.port, request);
    expect(responses[0]!.status).toBe(status);
    expect(header(responses[0]!, 'cross-origin-opener-policy')).toEqual(['same-origin']);
    expect(header(responses[0]!, 'cross-origin-resource-policy')).toEqual(['same-origin']);
  });
});

describe('DNS rebinding: with publicHost set, only that name is served', () => {
  let server: TestServer;
  let host: string;
  beforeAll(async () => {
    server = await startTestServer({ publicHost: 'meet.example.org', allowedOrigins: ['https://intranet.example.org'] });
    host = `meet.example.org:${server.port}`;
  });
  afterAll(() => server.close());

  it('serves the app under the public name, its allowed origins and loopback', async () => {
    for (const name of [host, 'meet.example.org', 'MEET.example.org', 'intranet.example.org', `127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`]) {
      const { responses } = await raw(server.port, get('/', name));
      expect(responses[0]!.status, name).toBe(200);
    }
  });

  it('answers 421 to a page that reached the server under another name', async () => {
    for (const name of [`evil.example:${server.port}`, 'meet.example.org.evil.example', `192.0.2.10:${server.port}`, '', 'meet.example.org/x']) {
      for (const path of ['/', '/client-config.json', '/assets/app-ABCDEF12.js', '/metrics', '/team-weekly']) {
        const { responses } = await raw(server.port, get(path, name));
        expect(responses[0]!.status, `${path} with Host ${JSON.stringify(name)}`).toBe(421);
      }
    }
  });

  it('keeps health checks answering under any Host (load balancers probe by address)', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const { responses } = await raw(server.port, get(path, `192.0.2.10:${server.port}`));
      expect(responses[0]!.status, path).toBe(200);
    }
  });

  it('refuses the WebSocket of a rebinding page whose Origin equals its Host', async () => {
    const evil = `evil.example:${server.port}`;
    const { responses } = await raw(server.port, upgrade(evil, `http://${evil}`));
    expect(responses[0]!.status).toBe(403);
  });

  it('refuses a WebSocket under another Host even without an Origin', async () => {
    const { responses } = await raw(server.port, upgrade(`evil.example:${server.port}`, ''));
    expect(responses[0]!.status).toBe(403);
  });

  it('still accepts the public name, over https as behind a proxy and as the page\'s own origin', async () => {
    for (const [name, origin] of [
      ['meet.example.org', 'https://meet.example.org'],
      [host, `http://${host}`],
      [`127.0.0.1:${server.port}`, 'https://meet.example.org'],
      ['meet.example.org', 'https://intranet.example.org'],
    ] as const) {
      const { responses } = await raw(server.port, upgrade(name, origin));
      expect(responses[0]!.status, `${name} ${origin}`).toBe(101);
    }
  });
});

describe('without publicHost (development): any Host, and a warning on a network address', () => {
  it('serves another Host as before, and says nothing on loopback', async () => {
    const warnings: string[] = [];
    const server = await startTestServer({ logger: recordingLogger(warnings) });
    try {
      const { responses } = await raw(server.port, get('/', `evil.example:${server.port}`));
      expect(responses[0]!.status).toBe(200);
      expect(warnings.filter((w) => w.includes('publicHost'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('warns at start when listening on all addresses without publicHost', async () => {
    const warnings: string[] = [];
    const server = await startTestServer({ host: '0.0.0.0', logger: recordingLogger(warnings) });
    await server.close();
    expect(warnings.filter((w) => w.includes('publicHost') && w.includes('DNS rebinding'))).toHaveLength(1);
  });
});

function recordingLogger(warnings: string[]): Logger {
  return { ...silentLogger, warn: (message) => void warnings.push(message) };
}

describe('ambiguous request framing is refused', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const host = () => `127.0.0.1:${server.port}`;
  it.each([
    ['two different Content-Length headers', 'Content-Length: 0\r\nContent-Length: 5\r\n', 'hello'],
    ['two equal Content-Length headers', 'Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'],
    ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked\r\n', ''],
    ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'],
    ['a body on a GET', 'Content-Length: 5\r\n', 'hello'],
    ['two Host headers', 'Host: evil.example\r\n', ''],
  ])('%s: 400 and the connection closed', async (_label, headers, body) => {
    const request = `GET /healthz HTTP/1.1\r\nHost: ${host()}\r\n${headers}\r\n${body}`;
    // 99: read until the server closes the connection (or fail after 5 s).
    const alone = await raw(server.port, request, 99);
    expect(alone.responses.map((r) => r.status)).toEqual([400]);
    expect(header(alone.responses[0]!, 'connection')).toEqual(['close']);
    expect(alone.closed).toBe(true);
    // A second request pipelined behind it must not be answered: where it starts depends on
    // which framing is believed. (uWS closes such a connection without even the 400.)
    const pipelined = await raw(server.port, request + get('/healthz', host()), 99);
    expect(pipelined.responses.filter((r) => r.status !== 400)).toEqual([]);
    expect(pipelined.closed).toBe(true);
  });

  it('never answers a Content-Length list ("5, 5") but with 400', async () => {
    // uWS itself drops this connection (measured: closed without an answer) before our 400 goes out.
    const { responses, closed } = await raw(server.port, `GET /healthz HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 5, 5\r\n\r\nhello` + get('/healthz', host()), 99);
    expect(responses.filter((r) => r.status !== 400)).toEqual([]);
    expect(closed).toBe(true);
  });

  it('refuses a body on a HEAD', async () => {
    const { responses, closed } = await raw(server.port, `HEAD /healthz HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 5\r\n\r\nhello`, 99, [true]);
    expect(responses.map((r) => r.status)).toEqual([400]);
    expect(closed).toBe(true);
  });

  it('still answers a GET with Content-Length: 0 and keeps the connection', async () => {
    const { responses } = await raw(server.port, get('/healthz', host(), 'Content-Length: 0\r\n') + get('/healthz', host()), 2);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('no server banner', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it.each([
    ['GET /', get('/', 'localhost'), 200],
    ['HEAD /', 'HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n', 200],
    ['a 404', get('/nope.txt', 'localhost'), 404],
    ['the WebSocket handshake', upgrade('localhost', ''), 101],
  ])('%s names no server software', async (_label, request, status) => {
    const { responses } = await raw(server.port, request, 1, [request.startsWith('HEAD')]);
    expect(responses[0]!.status).toBe(status);
    // uWS writes "uWebSockets: 20" unless its loop is silenced; nothing else may name the software.
    expect(responses[0]!.headers.map(([name]) => name)).not.toContain('uwebsockets');
    expect(responses[0]!.headers.map(([name]) => name)).not.toContain('server');
    expect(responses[0]!.headers.map(([name]) => name)).not.toContain('x-powered-by');
  });
});

// ---- nginx in front, as docs/nginx.conf sets it up (plain HTTP here: TLS changes nothing about framing) ----

const NGINX = '/usr/sbin/nginx';

describe.skipIf(!existsSync(NGINX))('behind the documented nginx', () => {
  let treff: TestServer;
  let nginx: ChildProcess;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    treff = await startTestServer({ publicHost: 'meet.example.org', trustProxy: true });
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'treff-nginx-'));
    // The documented HTTPS site, with its listen lines and certificates swapped for a plain free
    // port and the upstream for the test server; every proxy directive is kept.
    const site = readFileSync('docs/nginx.conf', 'utf8');
    const https = site.slice(site.indexOf('server {', site.indexOf('server {') + 1));
    expect(https).toContain('listen 443');
    const adapted = https
      .replace(/^\s*listen .*$/gm, '')
      .replace(/^\s*ssl_.*$/gm, '')
      .replace('server {', `server {\n    listen 127.0.0.1:${port};`)
      .replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${treff.port}`);
    const map = site.slice(site.indexOf('map $http_upgrade'), site.indexOf('}', site.indexOf('map $http_upgrade')) + 1);
    writeFileSync(join(dir, 'site.conf'), `${map}\n${adapted}`);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/site.conf;\n}\n`,
    );
    execFileSync(NGINX, ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      const { responses } = await raw(port, get('/healthz', 'meet.example.org')).catch(() => ({ responses: [] }));
      if (responses[0]?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await treff?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes a plain GET and HEAD, naming no version of anything', async () => {
    const { responses } = await raw(port, `HEAD / HTTP/1.1\r\nHost: meet.example.org\r\n\r\n` + get('/', 'meet.example.org'), 2, [true, false]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    for (const response of responses) {
      expect(header(response, 'server')).toEqual(['nginx']);
      expect(header(response, 'uwebsockets')).toEqual([]);
    }
  });

  it.each([
    ['two different Content-Length headers', 'Content-Length: 0\r\nContent-Length: 5\r\n', 'hello', 400],
    ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked\r\n', '', 501],
    ['Transfer-Encoding and Content-Length', 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n', 400],
    ['two Host headers', 'Host: evil.example\r\n', '', 400],
  ])('nginx itself refuses %s', async (_label, headers, body, status) => {
    const { responses } = await raw(port, `GET / HTTP/1.1\r\nHost: meet.example.org\r\n${headers}\r\n${body}`);
    expect(responses[0]!.status).toBe(status);
    // nginx's own error page, not Treff's (which carries the CSP).
    expect(header(responses[0]!, 'content-security-policy')).toEqual([]);
  });

  it.each([
    ['a chunked body on a GET (nginx de-chunks it into a Content-Length)', 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'],
    ['a Content-Length body on a GET', 'Content-Length: 5\r\n', 'hello'],
  ])('Treff refuses what nginx passes on: %s', async (_label, headers, body) => {
    const { responses } = await raw(port, `GET / HTTP/1.1\r\nHost: meet.example.org\r\n${headers}\r\n${body}`);
    expect(responses[0]!.status).toBe(400);
    expect(header(responses[0]!, 'content-security-policy')).toHaveLength(1);
  });

  it('passes another Host on as it came ($host), and Treff refuses it', async () => {
    const { responses } = await raw(port, get('/', 'evil.example'));
    expect(responses[0]!.status).toBe(421);
  });
});

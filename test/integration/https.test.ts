// Treff serving HTTPS itself: a certificate made by `npm run cert`, trusted by the test and by
// nothing else; a renewed certificate picked up on SIGHUP while meetings go on.

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate, type SelfSignedCertificate } from '../../scripts/cert.js';
import { greetedClient, startTestServer, TestClient, type TestServer } from '../helpers/server.js';
import { freePort, httpsGet, startMain, waitForOutput, type MainProcess } from '../helpers/processes.js';

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' } as const;

let dir: string;
let first: SelfSignedCertificate;
let renewed: SelfSignedCertificate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'treff-https-'));
  first = makeSelfSignedCertificate({ dir: join(dir, 'first'), hosts: ['localhost', '127.0.0.1'] });
  renewed = makeSelfSignedCertificate({ dir: join(dir, 'renewed'), hosts: ['localhost', '127.0.0.1'] });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Plain-HTTP GET without following redirects. */
function httpGet(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

describe('HTTPS served by Treff itself', () => {
  let server: TestServer;
  let ca: Buffer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    ca = readFileSync(first.certFile);
    server = await startTestServer({ tls: { certFile: first.certFile, keyFile: first.keyFile, redirectPort: 0, hstsMaxAgeSeconds: 31536000 } });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('serves the app over https with the certificate, HSTS and the security headers', async () => {
    const res = await httpsGet(`${server.url}/team-weekly`, ca);

    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<main id="app">');
    expect(res.fingerprint256).toBe(first.fingerprint256);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('carries the signalling WebSocket over wss://: two participants meet and exchange an offer', async () => {
    const ada = await greetedClient(server.wsUrl, 'ada', { ca });
    const bob = await greetedClient(server.wsUrl, 'bob', { ca });
    clients.push(ada, bob);
    await ada.join('secure-room', 'Ada');
    await bob.join('secure-room', 'Bob');

    ada.send({ type: 'signal', to: bob.id, data: OFFER });

    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: ada.id, data: OFFER });
  });

  it('is refused by a client that does not trust the certificate (the test really checks it)', async () => {
    await expect(TestClient.connect(server.wsUrl, 'sceptic')).rejects.toThrow(/self-signed|certificate/i);
  });

  it('redirects plain HTTP to the same path on HTTPS, without HSTS (browsers ignore it there)', async () => {
    const res = await httpGet(`http://127.0.0.1:${server.server.redirectPort}/team-weekly?lang=de`);

    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://127.0.0.1:${server.port}/team-weekly?lang=de`);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('renewing the certificate: SIGHUP', () => {
  let main: MainProcess | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await main?.stop();
    main = undefined;
  });

  it('serves the new certificate to new connections while open meetings go on undisturbed', async () => {
    // Certificates live where certbot would renew them: the same paths, new contents.
    const live = join(dir, 'live');
    makeSelfSignedCertificate({ dir: live, hosts: ['127.0.0.1'] });
    copyFileSync(first.certFile, join(live, 'cert.pem'));
    copyFileSync(first.keyFile, join(live, 'key.pem'));
    const redirectPort = await freePort();
    main = startMain({ TREFF_TLS_CERT: join(live, 'cert.pem'), TREFF_TLS_KEY: join(live, 'key.pem'), TREFF_HTTP_REDIRECT_PORT: String(redirectPort) });
    const [, url] = await waitForOutput(main, /open (https:\/\/127\.0\.0\.1:\d+)\//);
    const trustBoth = [readFileSync(first.certFile), readFileSync(renewed.certFile)];
    expect((await httpsGet(`${url}/healthz`, trustBoth)).fingerprint256).toBe(first.fingerprint256);

    const wsUrl = `${url!.replace('https:', 'wss:')}/ws`;
    const ada = await greetedClient(wsUrl, 'ada', { ca: trustBoth });
    const bob = await greetedClient(wsUrl, 'bob', { ca: trustBoth });
    clients.push(ada, bob);
    await ada.join('renewal', 'Ada');
    await bob.join('renewal', 'Bob');

    copyFileSync(renewed.certFile, join(live, 'cert.pem'));
    copyFileSync(renewed.keyFile, join(live, 'key.pem'));
    main.child.kill('SIGHUP');
    await waitForOutput(main, /certificate reloaded/);

    const after = await httpsGet(`${url}/healthz`, trustBoth);
    expect(after.fingerprint256).toBe(renewed.fingerprint256);
    expect(after.body).toBe('ok');
    // The meeting opened before the reload still works in both directions.
    expect(ada.isOpen && bob.isOpen).toBe(true);
    ada.send({ type: 'signal', to: bob.id, data: OFFER });
    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: ada.id, data: OFFER });
    bob.send({ type: 'ping' });
    await expect(bob.next('pong')).resolves.toEqual({ type: 'pong' });
    // And a newcomer reaches them through the new listener.
    const cyd = await greetedClient(wsUrl, 'cyd', { ca: trustBoth });
    clients.push(cyd);
    await expect(cyd.join('renewal', 'Cyd')).resolves.toMatchObject({ participants: [{ id: ada.id }, { id: bob.id }] });

    // A broken renewal keeps the working certificate and says so.
    writeFileSync(join(live, 'cert.pem'), 'not a certificate');
    main.child.kill('SIGHUP');
    await waitForOutput(main, /certificate reload failed/);
    expect((await httpsGet(`${url}/healthz`, trustBoth)).fingerprint256).toBe(renewed.fingerprint256);
    expect(main.logs().find((line) => String(line.msg).includes('reload failed'))).toMatchObject({ level: 'error', reason: expect.stringContaining('TREFF_TLS_CERT') });
    expect(ada.isOpen && bob.isOpen && cyd.isOpen).toBe(true);

    // The redirect listener still answers after the reloads.
    const redirected = await httpGet(`http://127.0.0.1:${redirectPort}/x`);
    expect(redirected.headers.location).toBe(`${url}/x`);
  });
});

// The server command as an operator runs it (`tsx signal/main.ts`), plus small HTTPS and port helpers.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface MainProcess {
  child: ChildProcess;
  output: () => string;
  /** Every JSON log line printed so far, parsed. */
  logs: () => Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts the server as its own process. Its data directory is a fresh one unless TREFF_DATA_DIR is
 * given (a test that restarts the server passes the same one again): meetings stored by one test
 * must never come back in another.
 */
export function startMain(env: Record<string, string>, args: string[] = []): MainProcess {
  const ownDataDir = env.TREFF_DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'treff-data-')) : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', 'signal/main.ts', ...args], {
    env: { ...process.env, TREFF_TURN: 'off', TREFF_PORT: '0', TREFF_HOST: '127.0.0.1', ...(ownDataDir ? { TREFF_DATA_DIR: ownDataDir } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (ownDataDir) child.on('exit', () => rmSync(ownDataDir, { recursive: true, force: true }));
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    logs: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export async function waitForOutput(started: MainProcess, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`expected ${pattern} in the output, got:\n${started.output()}`);
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint256: string;
}

/** GET over HTTPS trusting exactly `ca` (Node's fetch cannot be given a CA). */
export function httpsGet(url: string, ca: string | Buffer | Array<string | Buffer>, headers: Record<string, string> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    // agent: false, so each request makes a new TLS connection and sees the current certificate.
    const req = request(url, { ca, headers, agent: false }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint256 }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A port on `host` free for both TCP and UDP right now, as a relay needs (TURN listens on both).
 * Tries a few ports the kernel hands out for TCP until one is also free for UDP.
 */
export async function freeTcpAndUdpPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, host, () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, host, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${host} after 20 tries`);
}

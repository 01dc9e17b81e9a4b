// The real coturn (Debian 4.6.1) from Treff's generated config, on a free port of 127.0.0.1 (or in a
// namespace of the test's own), and the clients that probe it: coturn's own turnutils_uclient and
// turnutils_peer, and a minimal STUN Allocate that reads the error code.

import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTurnConfig, writeTurnConfig, type TurnConfigOptions } from '../../turn/config.js';
import { startTurnServer, type TurnServer } from '../../turn/supervisor.js';

export const TURN_HOST = '127.0.0.1';
export const TURN_SECRET = 'integration-test-secret-0123456789';
export const TURN_REALM = 'treff.test';
export const COTURN_BINARY = '/usr/bin/turnserver';

export interface TestCoturn {
  server: TurnServer;
  configText: string;
  /** Every line coturn printed, prefix included. */
  logLines: string[];
  /** The port it listens on for UDP and TCP: free when it started, never the production 10000. */
  port: number;
  close(): Promise<void>;
}

export function testTurnOptions(overrides: Partial<TurnConfigOptions> & { port: number }): TurnConfigOptions {
  return {
    profile: 'production',
    realm: TURN_REALM,
    listeningIps: [TURN_HOST],
    relayIp: TURN_HOST,
    minPort: 49152,
    maxPort: 49999,
    secret: TURN_SECRET,
    // As the deployment would: its own relay address is an allowed peer.
    allowedPeerIps: [TURN_HOST],
    // turnutils_uclient -W signs every run with the same user, and its allocations outlive it.
    userQuota: 500,
    totalQuota: 1000,
    maxBps: 625_000,
    ...overrides,
  };
}

export interface StartOptions {
  restartDelayMs?: number;
  /** Another turnserver executable, e.g. one that runs coturn inside a namespace (give overrides.port then). */
  binary?: string;
}

/**
 * Starts coturn from Treff's generated config. Without overrides.port it picks a port free for UDP
 * and TCP on every listening address (and a free TLS port when overrides.tls.port is 0), so another
 * coturn on the machine, an operator's on 10000 or a parallel test run's, cannot break the test.
 */
export async function startTestCoturn(overrides: Partial<TurnConfigOptions> = {}, { restartDelayMs = 200, binary = COTURN_BINARY }: StartOptions = {}): Promise<TestCoturn> {
  const hosts = overrides.listeningIps ?? [TURN_HOST];
  const port = overrides.port ?? (await freeTurnPort(hosts));
  const tls = overrides.tls && overrides.tls.port === 0 ? { ...overrides.tls, port: await freeTurnPort(hosts, [port]) } : overrides.tls;
  // coturn binds with SO_REUSEPORT: a leftover coturn would silently share the port and answer half the requests.
  if (binary === COTURN_BINARY) for (const host of hosts) await assertUdpPortFree(host, port);
  const dir = mkdtempSync(join(tmpdir(), 'treff-coturn-'));
  const configPath = join(dir, 'turnserver.conf');
  const configText = generateTurnConfig(testTurnOptions({ ...overrides, port, tls }));
  writeTurnConfig(configPath, configText);
  const logLines: string[] = [];
  const server = startTurnServer({ binary, configPath, log: (line) => logLines.push(line), restartDelayMs });
  const close = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.ready;
  } catch (error) {
    await close();
    throw error;
  }
  return { server, configText, logLines, port, close };
}

/**
 * A port free for UDP and TCP on every host, from 20000–32767: below Linux's ephemeral range (so no
 * client socket takes it meanwhile) and the relay ports, and far from 8080 and 10000. Bounded: 50 tries.
 */
export async function freeTurnPort(hosts: string[], avoid: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = randomInt(20000, 32768);
    if (avoid.includes(port)) continue;
    let free = true;
    for (const host of hosts) free = free && (await tcpPortFree(host, port)) && (await udpPortFree(host, port));
    if (free) return port;
  }
  throw new Error(`no port free for UDP and TCP on ${hosts.join(', ')} after 50 tries`);
}

function tcpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

async function assertUdpPortFree(host: string, port: number): Promise<void> {
  if (!(await udpPortFree(host, port))) throw new Error(`UDP ${host}:${port} is taken (a leftover coturn?)`);
}

export interface RunResult {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** turnutils_uclient against the test relay on `port` (at `server`, 127.0.0.1 by default), killed after timeoutMs. */
export function uclient(args: string[], { port, timeoutMs = 8000, server = TURN_HOST }: { port: number; timeoutMs?: number; server?: string }): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile('turnutils_uclient', ['-p', String(port), ...args, server], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const timedOut = Boolean(error && (error as { killed?: boolean }).killed);
      const code = error ? ((error as { code?: unknown }).code as number | null) ?? null : 0;
      resolve({ code: typeof code === 'number' ? code : null, output: stdout + stderr, timedOut });
    });
  });
}

/** turnutils_peer: a UDP echo server on a free port (pass it to uclient as -r), ready once it echoes. */
export async function startEchoPeer(host = TURN_HOST): Promise<{ port: number; close(): Promise<void> }> {
  const port = await freeTurnPort([host]);
  const peer = spawn('turnutils_peer', ['-L', host, '-p', String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => peer.once('exit', () => resolve()));
  const close = async () => {
    peer.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await echoes(host, port)) return { port, close };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await close();
  throw new Error(`turnutils_peer on ${host}:${port} did not echo`);
}

function echoes(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => finish(false), 100);
    const finish = (result: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    socket.on('message', () => finish(true));
    socket.on('error', () => finish(false));
    socket.send('ping', port, host);
  });
}

// ---------------------------------------------------------------------------
// A minimal STUN Allocate (RFC 5389/5766) over UDP, to read the error code coturn answers with;
// turnutils_uclient only prints "Cannot complete Allocation".

const MAGIC_COOKIE = 0x2112a442;
const ATTRIBUTE = { username: 0x0006, messageIntegrity: 0x0008, errorCode: 0x0009, realm: 0x0014, nonce: 0x0015, requestedTransport: 0x0019 };

export interface AllocateAnswer {
  /** 200 for a successful allocation, else the STUN error code (401, 438, …). */
  status: number;
}

/** Allocates a UDP relay on the relay at port (and host) with long-term credentials, as a browser does with TURN REST credentials. */
/**
 * One TURN Allocate from a fresh UDP socket. An allocation outlives its socket (10 min), so a test
 * making many should pass `held`: the sockets stay open until it closes them, and the kernel cannot
 * give a later one the same source port, which coturn would answer with 437 (allocation mismatch).
 */
export async function allocate(username: string, password: string, { port, host = TURN_HOST, held }: { port: number; host?: string; held?: Array<{ close(): void }> }): Promise<AllocateAnswer> {
  const socket = createSocket('udp4');
  const exchange = (message: Buffer) => exchangeWith(socket, message, port, host);
  try {
    const challenge = await exchange(request([[ATTRIBUTE.requestedTransport, Buffer.from([17, 0, 0, 0])]]));
    if (challenge.status !== 401 || !challenge.realm || !challenge.nonce) return { status: challenge.status };
    const key = createHash('md5').update(`${username}:${challenge.realm}:${password}`).digest();
    const attributes: [number, Buffer][] = [
      [ATTRIBUTE.requestedTransport, Buffer.from([17, 0, 0, 0])],
      [ATTRIBUTE.username, Buffer.from(username)],
      [ATTRIBUTE.realm, Buffer.from(challenge.realm)],
      [ATTRIBUTE.nonce, Buffer.from(challenge.nonce)],
    ];
    return { status: (await exchange(request(attributes, key))).status };
  } finally {
    if (held) held.push(socket);
    else socket.close();
  }
}

function request(attributes: [number, Buffer][], integrityKey?: Buffer): Buffer {
  const body = Buffer.concat(attributes.map(([type, value]) => encodeAttribute(type, value)));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0003, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  randomBytes(12).copy(header, 8);
  if (!integrityKey) {
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  // The integrity covers the header with a length that already counts the 24-byte MESSAGE-INTEGRITY attribute.
  header.writeUInt16BE(body.length + 24, 2);
  const hmac = createHmac('sha1', integrityKey).update(Buffer.concat([header, body])).digest();
  return Buffer.concat([header, body, encodeAttribute(ATTRIBUTE.messageIntegrity, hmac)]);
}

function encodeAttribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

interface StunAnswer {
  status: number;
  realm?: string;
  nonce?: string;
}

function exchangeWith(socket: ReturnType<typeof createSocket>, message: Buffer, port: number, host: string): Promise<StunAnswer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no STUN answer from coturn within 2 s')), 2000);
    socket.once('message', (answer) => {
      clearTimeout(timer);
      resolve(parseAnswer(answer));
    });
    socket.send(message, port, host);
  });
}

function parseAnswer(message: Buffer): StunAnswer {
  const type = message.readUInt16BE(0);
  const answer: StunAnswer = { status: type === 0x0103 ? 200 : 0 };
  for (let offset = 20; offset + 4 <= message.length; ) {
    const attributeType = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    const value = message.subarray(offset + 4, offset + 4 + length);
    if (attributeType === ATTRIBUTE.errorCode) answer.status = (value[2]! & 0x7) * 100 + value[3]!;
    if (attributeType === ATTRIBUTE.realm) answer.realm = value.toString();
    if (attributeType === ATTRIBUTE.nonce) answer.nonce = value.toString();
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return answer;
}

/** TURN REST credentials computed here with openssl, independent of Treff's own code. */
export function restCredentials(expiry: number, user: string, secret = TURN_SECRET): Promise<{ username: string; password: string }> {
  const username = `${expiry}:${user}`;
  return opensslHmacSha1Base64(secret, username).then((password) => ({ username, password }));
}

export function opensslHmacSha1Base64(secret: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const openssl = spawn('sh', ['-c', 'openssl dgst -sha1 -hmac "$SECRET" -binary | base64'], { env: { ...process.env, SECRET: secret } });
    let output = '';
    openssl.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    openssl.on('error', reject);
    openssl.on('exit', (code) => (code === 0 ? resolve(output.trim()) : reject(new Error(`openssl exited with ${code}`))));
    openssl.stdin.end(text);
  });
}

// Starts the real signalling server on a free port, and a small WebSocket client that speaks its protocol.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig, type Config } from '../../signal/config.js';
import { PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '../../signal/protocol.js';
import { silentLogger } from '../../signal/log.js';
import { startServer, type RunningServer, type ServerOptions } from '../../signal/server.js';

export const TEST_INDEX_HTML =
  '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Treff test page</title>' +
  '<script type="module" src="/assets/app-ABCDEF12.js"></script></head>\n<body><main id="app"></main></body>\n</html>\n';

/** Large enough (well over 256 bytes) that the server keeps gzip and brotli copies. */
export const TEST_APP_JS = Array.from({ length: 60 }, (_, i) => `export const line${i} = 'a test asset line number ${i}';`).join('\n') + '\n';

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  server: RunningServer;
  close(): Promise<void>;
}

export interface TestServerOverrides extends Partial<Config> {
  iceServersFor?: ServerOptions['iceServersFor'];
  logger?: ServerOptions['logger'];
  readiness?: ServerOptions['readiness'];
  relayStatus?: ServerOptions['relayStatus'];
}

/** Writes a minimal built client to a temp dir, unless staticDir is given. */
export function writeTestStaticDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'treff-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), TEST_INDEX_HTML);
  writeFileSync(join(dir, 'assets', 'app-ABCDEF12.js'), TEST_APP_JS);
  return dir;
}

export async function startTestServer(overrides: TestServerOverrides = {}): Promise<TestServer> {
  const { iceServersFor, logger = silentLogger, readiness, relayStatus, ...configOverrides } = overrides;
  const ownStaticDir = configOverrides.staticDir === undefined ? writeTestStaticDir() : undefined;
  // A fresh data directory unless given: meetings one test stored must not come back in another.
  const ownDataDir = configOverrides.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'treff-data-')) : undefined;
  const removeOwnDirs = () => {
    for (const dir of [ownStaticDir, ownDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const config: Config = {
    ...loadConfig({ TREFF_TURN: 'off' }, { staticDir: '' }),
    host: '127.0.0.1',
    port: 0,
    // Tests about leaving expect the others to learn at once; resume tests set a grace period.
    seatGraceSeconds: 0,
    ...configOverrides,
    staticDir: configOverrides.staticDir ?? ownStaticDir!,
    dataDir: configOverrides.dataDir ?? ownDataDir!,
  };
  let server: RunningServer;
  try {
    server = await startServer({ config, logger, readiness, relayStatus, ...(iceServersFor ? { iceServersFor } : {}) });
  } catch (error) {
    removeOwnDirs();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    url: `${config.tls ? 'https' : 'http'}://127.0.0.1:${server.port}`,
    wsUrl: `${config.tls ? 'wss' : 'ws'}://127.0.0.1:${server.port}/ws`,
    port: server.port,
    server,
    close() {
      closed ??= server.close().finally(removeOwnDirs);
      return closed;
    },
  };
}

type MessageType = ServerMessage['type'];
type MessageOf<K extends MessageType> = Extract<ServerMessage, { type: K }>;
type Match = MessageType | ((message: ServerMessage) => boolean);

interface Waiter {
  matches(message: ServerMessage): boolean;
  resolve(message: ServerMessage): void;
  reject(error: Error): void;
}

export interface CloseEvent {
  code: number;
  reason: string;
}

/**
 * A browser stand-in: connects to the signalling socket, validates every message with the
 * client-side parser and keeps it until a test asks for it with next().
 */
export class TestClient {
  /** Every message received, in order, including ones already taken by next(). */
  readonly received: ServerMessage[] = [];
  /** Resolves with the close code once the socket is closed (by either side). */
  readonly closed: Promise<CloseEvent>;
  /** Set when the server sent something the client-side parser refuses. */
  protocolViolation: Error | undefined;
  /** The participant id from welcome, once hello() succeeded. */
  id = '';

  private readonly unread: ServerMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private isClosed = false;

  private constructor(
    readonly label: string,
    private readonly socket: WebSocket,
  ) {
    socket.on('message', (raw: WebSocket.RawData) => this.onMessage(raw.toString()));
    this.closed = new Promise((resolve) => {
      socket.on('close', (code: number, reason: Buffer) => {
        this.isClosed = true;
        const event = { code, reason: reason.toString() };
        for (const waiter of this.waiters) {
          waiter.reject(new Error(`${this.label}: socket closed (code ${code}) while waiting for a message`));
        }
        this.waiters.clear();
        resolve(event);
      });
    });
    // Errors (e.g. the server dropping the connection) also show up as close; swallow them here.
    socket.on('error', () => {});
  }

  /** `options` e.g. { ca } to trust a test certificate for wss://, or { origin } to play a web page. */
  static connect(wsUrl: string, label = 'client', options?: WebSocket.ClientOptions): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, options);
      const client = new TestClient(label, socket);
      socket.once('open', () => resolve(client));
      socket.once('error', (error) => reject(new Error(`${label}: cannot connect to ${wsUrl}: ${error.message}`)));
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(message: object): void {
    this.sendRaw(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Waits for the next unread message of a type (or matching a predicate); earlier non-matching messages stay unread. */
  next<K extends MessageType>(type: K, timeoutMs?: number): Promise<MessageOf<K>>;
  next(predicate?: (message: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  next(match?: Match, timeoutMs = 2000): Promise<ServerMessage> {
    const matches = typeof match === 'string' ? (m: ServerMessage) => m.type === match : (match ?? (() => true));
    if (this.protocolViolation) return Promise.reject(this.protocolViolation);
    const index = this.unread.findIndex(matches);
    if (index >= 0) return Promise.resolve(this.unread.splice(index, 1)[0]!);
    if (this.isClosed) return Promise.reject(new Error(`${this.label}: socket is closed, no matching message will come`));
    const wanted = typeof match === 'string' ? `a "${match}" message` : 'a matching message';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.unread.map((m) => JSON.stringify(m)).join(', ') || 'nothing';
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${wanted}; unread: ${seen}`));
      }, timeoutMs);
      const waiter: Waiter = {
        matches,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits a while and returns what arrived unread in that time (for "receives nothing" stories). */
  async unreadAfter(ms = 150): Promise<ServerMessage[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.unread.splice(0);
  }

  /** Sends hello with the current protocol version; resolves with the id the server gave us. */
  async hello(): Promise<string> {
    this.send({ type: 'hello', version: PROTOCOL_VERSION });
    const welcome = await this.next('welcome');
    this.id = welcome.you;
    return welcome.you;
  }

  async join(room: string, name: string): Promise<MessageOf<'joined'>> {
    this.send({ type: 'join', room, name });
    return this.next('joined');
  }

  /** Closes the socket (normal closure) and waits until it is closed. */
  async close(): Promise<CloseEvent> {
    if (!this.isClosed) this.socket.close(1000);
    return this.closed;
  }

  /** Drops the connection without a close handshake, like a browser tab that crashed. */
  terminate(): void {
    this.socket.terminate();
  }

  private onMessage(text: string): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(text);
    } catch (error) {
      this.protocolViolation = new Error(`${this.label}: server sent an invalid message ${text}: ${String(error)}`);
      for (const waiter of this.waiters) waiter.reject(this.protocolViolation);
      this.waiters.clear();
      return;
    }
    this.received.push(message);
    for (const waiter of this.waiters) {
      if (waiter.matches(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
    this.unread.push(message);
  }
}

/** Connects a client and says hello, like a browser opening the app. */
export async function greetedClient(wsUrl: string, label: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
  const client = await TestClient.connect(wsUrl, label, options);
  await client.hello();
  return client;
}

// The one protocol test client: a browser stand-in on the signalling socket that validates every
// message with the client's own parser (parseServerMessage), for the integration tests, the soak
// and load runs (simClient in load.ts) and the signalling benchmark. It imports nothing of the
// server, so a benchmark's worker threads can use it.

import WebSocket from 'ws';
import { PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '../../signal/protocol.js';

export interface TestClientOptions {
  /** Keep every message in `received` (default true); thousands of clients in a load run do not. */
  keepHistory?: boolean;
  /** At most this many unread messages are kept (default: all); later ones are only counted and passed to listeners. */
  unreadLimit?: number;
  /** Give up connecting after this long (default: as long as the socket takes). */
  connectTimeoutMs?: number;
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

  /** How many messages of each type arrived. */
  readonly counts = new Map<ServerMessage['type'], number>();

  private readonly unread: ServerMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(message: ServerMessage) => void>();
  private isClosed = false;

  private constructor(
    readonly label: string,
    /** The raw socket, for what a well-behaved client would not do (floods, half-open closes). */
    readonly socket: WebSocket,
    private readonly options: TestClientOptions = {},
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
  static connect(wsUrl: string, label = 'client', options?: WebSocket.ClientOptions, clientOptions: TestClientOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, options);
      const client = new TestClient(label, socket, clientOptions);
      const timer =
        clientOptions.connectTimeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              socket.terminate();
              reject(new Error(`${label}: cannot connect to ${wsUrl} within ${clientOptions.connectTimeoutMs} ms`));
            }, clientOptions.connectTimeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${label}: cannot connect to ${wsUrl}: ${error.message}`));
      });
    });
  }

  /** Calls `listener` with every valid message from now on (also those a waiter takes); returns how to stop. */
  listen(listener: (message: ServerMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
  async hello(timeoutMs?: number): Promise<string> {
    this.send({ type: 'hello', version: PROTOCOL_VERSION });
    const welcome = await this.next('welcome', timeoutMs);
    this.id = welcome.you;
    return welcome.you;
  }

  async join(room: string, name: string, timeoutMs?: number): Promise<MessageOf<'joined'>> {
    this.send({ type: 'join', room, name });
    return this.next('joined', timeoutMs);
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
    if (this.options.keepHistory !== false) this.received.push(message);
    this.counts.set(message.type, (this.counts.get(message.type) ?? 0) + 1);
    for (const listener of this.listeners) listener(message);
    for (const waiter of this.waiters) {
      if (waiter.matches(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
    if (this.unread.length < (this.options.unreadLimit ?? Infinity)) this.unread.push(message);
  }
}

/** Connects a client and says hello, like a browser opening the app. */
export async function greetedClient(wsUrl: string, label: string, options?: WebSocket.ClientOptions, clientOptions?: TestClientOptions): Promise<TestClient> {
  const client = await TestClient.connect(wsUrl, label, options, clientOptions);
  await client.hello();
  return client;
}

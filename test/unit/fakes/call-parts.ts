// Stand-ins for what a Call is built from (the way mediasoup-client tests against a fake handler):
// a signalling connection the test speaks for the server on, a mesh that records what the call
// asks of it, and a clock the test turns by hand.

import type { ClientMessage, IceServer, ParticipantId, ServerMessage, SignalData } from '../../../signal/protocol.js';
import type { CallParts } from '../../../client/call/call.js';
import type { Clock, TimerId } from '../../../client/call/clock.js';
import type { MeshOptions } from '../../../client/call/connection/mesh.js';
import type { PeerMessage } from '../../../client/call/connection/peer-protocol.js';
import type { SignallingHandlers } from '../../../client/call/connection/signalling.js';
import type { MeshPart } from '../../../client/call/context.js';
import { verifiedContacts } from '../../../client/call/safety/verified-contacts.js';
import { memoryStore } from '../../../client/storage.js';

export class FakeServerConnection {
  readonly sent: ClientMessage[] = [];
  closedByCall = false;

  constructor(
    private readonly handlers: SignallingHandlers,
    readonly resumeToken: string | undefined,
  ) {}

  send(message: ClientMessage): void {
    if (!this.closedByCall) this.sent.push(message);
  }

  close(): void {
    this.closedByCall = true;
  }

  /** The server says something. */
  deliver(message: ServerMessage): void {
    this.handlers.onMessage(message);
  }

  /** The socket ends from the server's side (or the network's). */
  drop(code: number): void {
    this.handlers.onClose(code);
  }

  sentOf<T extends ClientMessage['type']>(type: T): Extract<ClientMessage, { type: T }>[] {
    return this.sent.filter((message): message is Extract<ClientMessage, { type: T }> => message.type === type);
  }
}

export class FakeMesh implements MeshPart {
  readonly connected = new Map<ParticipantId, { initiator: boolean }>();
  readonly removed: ParticipantId[] = [];
  readonly toPeers: Array<{ to: ParticipantId | '*'; message: PeerMessage }> = [];
  readonly signals: Array<{ from: ParticipantId; data: SignalData }> = [];
  iceServers: IceServer[];
  destroyed = false;

  constructor(readonly options: MeshOptions) {
    this.iceServers = options.iceServers;
  }

  connect(to: ParticipantId, initiator: boolean): void {
    if (!this.connected.has(to)) this.connected.set(to, { initiator });
  }
  has(id: ParticipantId): boolean {
    return this.connected.has(id);
  }
  signal(from: ParticipantId, data: SignalData): void {
    this.signals.push({ from, data });
  }
  send(to: ParticipantId, message: PeerMessage): void {
    this.toPeers.push({ to, message });
  }
  broadcast(message: PeerMessage): void {
    this.toPeers.push({ to: '*', message });
  }
  remove(id: ParticipantId): void {
    this.removed.push(id);
    this.connected.delete(id);
  }
  destroy(): void {
    this.destroyed = true;
    this.connected.clear();
  }
  setIceServers(iceServers: IceServer[]): void {
    this.iceServers = iceServers;
  }
  restartIce(): void {}
  setScreen(): void {}
  audioLevels(): Map<ParticipantId, number> {
    return new Map();
  }
  connectionTo(): RTCPeerConnection | undefined {
    return undefined;
  }

  /** The connection to `id` changes state, as the real mesh reports it. */
  peerState(id: ParticipantId, state: Parameters<MeshOptions['events']['state']>[1]): void {
    if (state === 'failed' || state === 'insecure') this.connected.delete(id);
    this.options.events.state(id, state);
  }

  peerMessage(from: ParticipantId, message: PeerMessage): void {
    this.options.events.message(from, message);
  }
}

/** Time that moves only when the test says so. */
export class ManualClock implements Clock {
  private time = 1_700_000_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; run: () => void; every?: number }>();

  now = () => this.time;
  random = () => 0.5;

  setTimeout(run: () => void, ms: number): TimerId {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, run });
    return id as unknown as TimerId;
  }
  setInterval(run: () => void, ms: number): TimerId {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, run, every: ms });
    return id as unknown as TimerId;
  }
  clearTimeout(timer: TimerId | undefined): void {
    this.timers.delete(timer as unknown as number);
  }
  clearInterval(timer: TimerId | undefined): void {
    this.timers.delete(timer as unknown as number);
  }

  /** Runs every timer due within `ms`, in time order, then stands at the end of it. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.time = Math.max(this.time, timer.at);
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.run();
    }
    this.time = end;
  }

  /** When the earliest timer fires, from now; null when none is pending. */
  nextIn(): number | null {
    const ats = [...this.timers.values()].map((timer) => timer.at);
    return ats.length > 0 ? Math.min(...ats) - this.time : null;
  }
}

export function fakeParts() {
  const servers: FakeServerConnection[] = [];
  const meshes: FakeMesh[] = [];
  const clock = new ManualClock();
  const tabStorage = memoryStore();
  const parts: CallParts = {
    signalling: (handlers, resumeToken) => {
      const connection = new FakeServerConnection(handlers, resumeToken);
      servers.push(connection);
      return connection;
    },
    mesh: (options) => {
      const mesh = new FakeMesh(options);
      meshes.push(mesh);
      return mesh;
    },
    clock,
    tabStorage,
    contacts: verifiedContacts(memoryStore()),
  };
  return {
    parts,
    clock,
    tabStorage,
    /** The newest connection to the server. */
    server: () => servers[servers.length - 1]!,
    servers,
    mesh: () => meshes[meshes.length - 1]!,
    meshes,
  };
}

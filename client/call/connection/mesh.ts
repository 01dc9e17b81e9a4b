// The full mesh: one Peer per remote participant, with one teardown path, and what all of them
// share (the relay servers, the shared screen).

import type { IceServer, ParticipantId, SignalData } from '../../../signal/protocol.js';
import { Peer, type ConnectionState } from './peer.js';
import type { PeerMessage } from './peer-protocol.js';

export type { ConnectionState } from './peer.js';

export interface MeshEvents {
  signal(to: ParticipantId, data: SignalData): void;
  stream(from: ParticipantId, stream: MediaStream): void;
  state(of: ParticipantId, state: ConnectionState): void;
  message(from: ParticipantId, message: PeerMessage): void;
}

export interface MeshOptions {
  /** Only ever connect through the relay, so other participants never learn this browser's addresses. */
  relayOnly: boolean;
  /** This browser's persistent DTLS certificate, so safety-number verification survives reloads. */
  certificate: RTCCertificate | null;
  iceServers: IceServer[];
  stream: MediaStream | null;
  events: MeshEvents;
}

/** How often the ICE states are looked at, for the time-based steps of recovery. */
const ICE_CHECK_MS = 500;

export class Mesh {
  readonly #peers = new Map<ParticipantId, Peer>();
  readonly #iceTimer = setInterval(() => this.#peers.forEach((peer) => peer.checkIce()), ICE_CHECK_MS);
  /** The shared screen, sent in place of the camera (or as the only video when there is no camera). */
  #screen: MediaStreamTrack | null = null;
  /** Carries the screen for a participant who had no stream at all. */
  #screenStream: MediaStream | null = null;
  /** The relay servers and credentials for new connections and the next ICE restart of every connection. */
  #iceServers: IceServer[];

  constructor(private readonly options: MeshOptions) {
    this.#iceServers = options.iceServers;
  }

  /**
   * Fresh relay credentials: running connections keep their allocations (the relay checked the old
   * credentials when it made them); new connections and ICE restarts gather with these.
   */
  setIceServers(iceServers: IceServer[]): void {
    this.#iceServers = iceServers;
    for (const [id, peer] of this.#peers) {
      const pc = peer.connection;
      try {
        pc?.setConfiguration({ ...pc.getConfiguration(), iceServers });
      } catch (error) {
        console.warn(`relay credentials not updated for ${id}`, error);
      }
    }
  }

  /** Opens the connection to a participant; the newcomer is the initiator and sends the offer. */
  connect(to: ParticipantId, initiator: boolean): void {
    if (this.#peers.has(to)) return;
    const { relayOnly, certificate, stream, events } = this.options;
    const peer: Peer = new Peer({
      initiator,
      iceServers: this.#iceServers,
      relayOnly,
      certificate,
      stream,
      events: {
        signal: (data) => events.signal(to, data),
        stream: (remote) => events.stream(to, remote),
        state: (state) => events.state(to, state),
        message: (message) => events.message(to, message),
        ended: () => this.#peers.get(to) === peer && this.#peers.delete(to),
      },
    });
    this.#peers.set(to, peer);
    events.state(to, 'connecting');
    if (this.#screen) this.#switchVideo(peer, null, this.#screen);
  }

  /** Whether a connection to this participant is up or being set up. */
  has(id: ParticipantId): boolean {
    return Boolean(this.#peers.get(id)?.connection);
  }

  signal(from: ParticipantId, data: SignalData): void {
    this.#peers.get(from)?.signal(data);
  }

  restartIce(to: ParticipantId, relayOnly: boolean): void {
    this.#peers.get(to)?.restartIce(relayOnly);
  }

  send(to: ParticipantId, message: PeerMessage): void {
    this.#peers.get(to)?.send(message);
  }

  broadcast(message: PeerMessage): void {
    for (const peer of this.#peers.values()) peer.send(message);
  }

  /** Sends `track` (a shared screen) instead of the camera to everyone, or the camera again (null). */
  setScreen(track: MediaStreamTrack | null): void {
    const previous = this.#screen;
    this.#screen = track;
    for (const peer of this.#peers.values()) this.#switchVideo(peer, previous, track);
  }

  #switchVideo(peer: Peer, from: MediaStreamTrack | null, to: MediaStreamTrack | null): void {
    peer.switchVideo(this.options.stream, () => (this.#screenStream ??= new MediaStream()), from, to);
  }

  /** The latest audio level (0…1) heard from each participant. */
  audioLevels(): Map<ParticipantId, number> {
    return new Map([...this.#peers].map(([id, peer]) => [id, peer.audioLevel()]));
  }

  /** The underlying RTCPeerConnection, for statistics. */
  connectionTo(id: ParticipantId): RTCPeerConnection | undefined {
    return this.#peers.get(id)?.connection;
  }

  remove(id: ParticipantId): void {
    const peer = this.#peers.get(id);
    this.#peers.delete(id);
    peer?.destroy();
  }

  destroy(): void {
    clearInterval(this.#iceTimer);
    for (const id of [...this.#peers.keys()]) this.remove(id);
  }
}

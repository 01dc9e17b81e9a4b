// The full mesh: one simple-peer connection per remote participant, with one teardown path.

import SimplePeer from 'simple-peer';
import { type IceServer, type ParticipantId, type SignalData } from '../../signal/protocol.js';
import { parsePeerMessage, type PeerMessage } from './peer-messages.js';

export type ConnectionState = 'connecting' | 'connected' | 'failed';

export interface MeshEvents {
  signal(to: ParticipantId, data: SignalData): void;
  stream(from: ParticipantId, stream: MediaStream): void;
  state(of: ParticipantId, state: ConnectionState): void;
  message(from: ParticipantId, message: PeerMessage): void;
}

export interface MeshOptions {
  /** Only ever connect through the relay, so other participants never learn this browser's addresses. */
  relayOnly: boolean;
  iceServers: IceServer[];
  stream: MediaStream | null;
  events: MeshEvents;
}

export class Mesh {
  private readonly peers = new Map<ParticipantId, SimplePeer.Instance>();

  constructor(private readonly options: MeshOptions) {}

  /** Opens the connection to a participant; the newcomer is the initiator and sends the offer. */
  connect(to: ParticipantId, initiator: boolean): void {
    if (this.peers.has(to)) return;
    const { iceServers, relayOnly, stream, events } = this.options;
    const peer = new SimplePeer({
      initiator,
      trickle: true,
      // Always Treff's own list: simple-peer's default would contact public STUN servers of third parties.
      config: { iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' },
      ...(stream ? { stream } : {}),
      // A participant without camera or microphone still offers to receive both (without this,
      // simple-peer's answerer has to request transceivers, costing a renegotiation round trip).
      offerOptions: { offerToReceiveAudio: true, offerToReceiveVideo: true },
    });
    this.peers.set(to, peer);
    events.state(to, 'connecting');

    peer.on('signal', (data) => events.signal(to, data as SignalData));
    peer.on('stream', (remote: MediaStream) => events.stream(to, remote));
    peer.on('connect', () => events.state(to, 'connected'));
    peer.on('data', (chunk: Uint8Array | string) => {
      const message = parsePeerMessage(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      if (message) events.message(to, message);
    });
    peer.on('error', (error: Error) => console.warn(`connection to ${to} failed`, error));
    peer.on('close', () => {
      // Only a connection that is still ours reports: remove() already forgot the ones we closed.
      if (this.peers.get(to) !== peer) return;
      this.peers.delete(to);
      events.state(to, 'failed');
    });
  }

  signal(from: ParticipantId, data: SignalData): void {
    const peer = this.peers.get(from);
    if (peer && !peer.destroyed) peer.signal(data as SimplePeer.SignalData);
  }

  send(to: ParticipantId, message: PeerMessage): void {
    const peer = this.peers.get(to);
    if (peer?.connected) peer.send(JSON.stringify(message));
  }

  broadcast(message: PeerMessage): void {
    for (const id of this.peers.keys()) this.send(id, message);
  }

  /** The underlying RTCPeerConnection, for statistics. */
  connectionTo(id: ParticipantId): RTCPeerConnection | undefined {
    return (this.peers.get(id) as unknown as { _pc?: RTCPeerConnection } | undefined)?._pc;
  }

  remove(id: ParticipantId): void {
    const peer = this.peers.get(id);
    this.peers.delete(id);
    peer?.destroy();
  }

  destroy(): void {
    for (const id of [...this.peers.keys()]) this.remove(id);
  }
}

// The full mesh: one simple-peer connection per remote participant, with one teardown path.

import SimplePeer from 'simple-peer';
import { type IceServer, type ParticipantId, type SignalData } from '../../signal/protocol.js';
import { parsePeerMessage, type PeerMessage } from './peer-messages.js';

/** insecure: the network path worked but DTLS did not come up (e.g. a certificate that does not match its fingerprint). */
export type ConnectionState = 'connecting' | 'connected' | 'failed' | 'insecure';

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

export class Mesh {
  private readonly peers = new Map<ParticipantId, SimplePeer.Instance>();
  /** Messages for a peer whose channel is not open yet (the other side may start talking first). */
  private readonly pending = new Map<ParticipantId, PeerMessage[]>();

  constructor(private readonly options: MeshOptions) {}

  /** Opens the connection to a participant; the newcomer is the initiator and sends the offer. */
  connect(to: ParticipantId, initiator: boolean): void {
    if (this.peers.has(to)) return;
    const { iceServers, relayOnly, certificate, stream, events } = this.options;
    const peer = new SimplePeer({
      initiator,
      trickle: true,
      // Always Treff's own list: simple-peer's default would contact public STUN servers of third parties.
      config: { iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all', ...(certificate ? { certificates: [certificate] } : {}) },
      ...(stream ? { stream } : {}),
      // A participant without camera or microphone still offers to receive both (without this,
      // simple-peer's answerer has to request transceivers, costing a renegotiation round trip).
      offerOptions: { offerToReceiveAudio: true, offerToReceiveVideo: true },
    });
    this.peers.set(to, peer);
    events.state(to, 'connecting');

    let insecure = false;
    // Watch the DTLS transports themselves: by the time simple-peer reports the failure it has
    // already closed the connection, and a failed handshake looks like any other failure.
    const watched = new WeakSet<RTCDtlsTransport>();
    const watchDtls = () => {
      for (const transport of dtlsTransports(this.connectionTo(to))) {
        if (watched.has(transport)) continue;
        watched.add(transport);
        transport.addEventListener('statechange', () => (insecure ||= transport.state === 'failed'));
      }
    };
    peer.on('signal', (data) => {
      watchDtls();
      events.signal(to, data as SignalData);
    });
    peer.on('stream', (remote: MediaStream) => events.stream(to, remote));
    peer.on('connect', () => {
      this.pending.get(to)?.forEach((message) => peer.send(JSON.stringify(message)));
      this.pending.delete(to);
      events.state(to, 'connected');
    });
    peer.on('data', (chunk: Uint8Array | string) => {
      const message = parsePeerMessage(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      if (message) events.message(to, message);
    });
    peer.on('error', (error: Error) => {
      console.warn(`connection to ${to} ${insecure ? 'could not be secured' : 'failed'}`, error);
    });
    peer.on('close', () => {
      // Only a connection that is still ours reports: remove() already forgot the ones we closed.
      if (this.peers.get(to) !== peer) return;
      this.peers.delete(to);
      this.pending.delete(to);
      events.state(to, insecure ? 'insecure' : 'failed');
    });
  }

  signal(from: ParticipantId, data: SignalData): void {
    const peer = this.peers.get(from);
    if (peer && !peer.destroyed) peer.signal(data as SimplePeer.SignalData);
  }


  send(to: ParticipantId, message: PeerMessage): void {
    const peer = this.peers.get(to);
    if (!peer || peer.destroyed) return;
    if (peer.connected) peer.send(JSON.stringify(message));
    else this.pending.set(to, [...(this.pending.get(to) ?? []), message]);
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
    this.pending.delete(id);
    peer?.destroy();
  }

  destroy(): void {
    for (const id of [...this.peers.keys()]) this.remove(id);
  }
}

function dtlsTransports(pc: RTCPeerConnection | undefined): RTCDtlsTransport[] {
  if (!pc) return [];
  const transports = [pc.sctp?.transport, ...pc.getTransceivers().flatMap((t) => [t.sender.transport, t.receiver.transport])];
  return transports.filter((transport): transport is RTCDtlsTransport => Boolean(transport));
}

// The full mesh: one simple-peer connection per remote participant, with one teardown path.

import SimplePeer from 'simple-peer';
import { type IceServer, type ParticipantId, type SignalData } from '../../../signal/protocol.js';
import { IceRecovery } from './ice-recovery.js';
import { parsePeerMessage, type PeerMessage } from './peer-protocol.js';

/**
 * reconnecting: was connected, lost its path, ICE is being restarted (media may stall meanwhile).
 * insecure: the network path worked but DTLS did not come up (e.g. a certificate that does not match its fingerprint).
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'insecure';

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

/** What the mesh keeps per connection besides simple-peer's own state. */
interface Link {
  /** We sent the first offer: we own the negotiation, ICE restarts included. */
  initiator: boolean;
  recovery: IceRecovery;
  /**
   * Where this connection's signalling goes: 'channel' (its own data channel, so renegotiation
   * works while the server is down) when the connection is healthy as a negotiation starts,
   * otherwise 'server'. An answer goes back the way its offer came (the two sides may judge the
   * path differently), and candidates follow their description, so nothing overtakes it.
   */
  via: 'server' | 'channel';
  /** The newest packet time seen from this participant, and when (our clock) it last moved on. */
  heard: { packetTime: number; changedAt: number } | null;
  /** What the tile was last told: reconnecting or not. */
  shownReconnecting: boolean;
  /** When the connection was made, for FIRST_CONNECT_GRACE_MS. */
  startedAt: number;
}

/** How often the ICE states are looked at, for the time-based steps of recovery. */
const ICE_CHECK_MS = 500;
/**
 * A participant who sends anything sends packets all the time (a muted microphone sends silence,
 * a camera turned off black frames): this long without one, the tile says "reconnecting" at once,
 * while browsers take 5–8 s to call the path 'disconnected'. Only ICE's own verdict restarts ICE.
 */
const SILENCE_MS = 1500;
/**
 * A new connection may report ICE 'failed' while the other side's candidates are still trickling
 * in: a relay-only browser whose relay refuses the other side's private addresses (as it must)
 * fails every pair at once until the other side's relay candidate arrives, which on a loaded
 * machine comes later. Chromium checks again when it does; the failure is final only after this.
 */
const FIRST_CONNECT_GRACE_MS = 10_000;

export class Mesh {
  private readonly peers = new Map<ParticipantId, SimplePeer.Instance>();
  private readonly links = new Map<ParticipantId, Link>();
  private readonly iceTimer = setInterval(() => this.peers.forEach((_, id) => this.checkIce(id)), ICE_CHECK_MS);
  /** Messages for a peer whose channel is not open yet (the other side may start talking first). */
  private readonly pending = new Map<ParticipantId, PeerMessage[]>();
  /** Peers whose data channel is open: messages go straight out. */
  private readonly open = new Set<SimplePeer.Instance>();
  /** The shared screen, sent in place of the camera (or as the only video when there is no camera). */
  private screen: MediaStreamTrack | null = null;
  /** Carries the screen for a participant who had no stream at all. */
  private screenStream: MediaStream | null = null;
  /** The relay servers and credentials for new connections and the next ICE restart of every connection. */
  private iceServers: IceServer[];

  constructor(private readonly options: MeshOptions) {
    this.iceServers = options.iceServers;
  }

  /**
   * Fresh relay credentials: running connections keep their allocations (the relay checked the old
   * credentials when it made them); new connections and ICE restarts gather with these.
   */
  setIceServers(iceServers: IceServer[]): void {
    this.iceServers = iceServers;
    for (const id of this.peers.keys()) {
      const pc = this.connectionTo(id);
      try {
        pc?.setConfiguration({ ...pc.getConfiguration(), iceServers });
      } catch (error) {
        console.warn(`relay credentials not updated for ${id}`, error);
      }
    }
  }

  /** Opens the connection to a participant; the newcomer is the initiator and sends the offer. */
  connect(to: ParticipantId, initiator: boolean): void {
    if (this.peers.has(to)) return;
    const { relayOnly, certificate, stream, events } = this.options;
    const iceServers = this.iceServers;
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
    const link: Link = { initiator, recovery: new IceRecovery(), via: 'server', heard: null, shownReconnecting: false, startedAt: Date.now() };
    this.links.set(to, link);
    keepThroughIceFailure(peer, () => link.recovery.recovering || Date.now() - link.startedAt < FIRST_CONNECT_GRACE_MS);
    this.connectionTo(to)?.addEventListener('iceconnectionstatechange', () => this.checkIce(to));
    events.state(to, 'connecting');
    if (this.screen) this.switchVideo(peer, null, this.screen);

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
      this.sendSignal(to, data as SignalData);
    });
    const reported = new Set<string>();
    peer.on('stream', (remote: MediaStream) => {
      reported.add(remote.id);
      events.stream(to, remote);
    });
    // A track added later (a screen from someone without a camera) joins a stream already shown:
    // a new MediaStream object makes the tile pick it up.
    peer.on('track', (_track: MediaStreamTrack, remote: MediaStream) => {
      if (reported.has(remote.id)) events.stream(to, new MediaStream(remote.getTracks()));
    });
    // Connected once the data channel is open. simple-peer's own 'connect' also waits until
    // getStats shows a selected candidate pair, which lags (and was seen to stall) under load
    // while media already flows; whichever comes first counts.
    const connected = () => {
      if (this.open.has(peer) || peer.destroyed || this.peers.get(to) !== peer) return;
      this.open.add(peer);
      this.pending.get(to)?.forEach((message) => peer.send(JSON.stringify(message)));
      this.pending.delete(to);
      events.state(to, 'connected');
    };
    const watchChannel = (channel: RTCDataChannel | undefined) => {
      if (!channel) return;
      if (channel.readyState === 'open') connected();
      else channel.addEventListener('open', connected, { once: true });
    };
    watchChannel(channelOf(peer));
    this.connectionTo(to)?.addEventListener('datachannel', (event) => watchChannel(event.channel));
    peer.on('connect', connected);
    peer.on('data', (chunk: Uint8Array | string) => {
      connected();
      const message = parsePeerMessage(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      if (message?.type === 'signal') this.signal(to, message.data, 'channel');
      else if (message) events.message(to, message);
    });
    peer.on('error', (error: Error) => {
      console.warn(`connection to ${to} ${insecure ? 'could not be secured' : 'failed'}`, error);
    });
    peer.on('close', () => {
      // Only a connection that is still ours reports: remove() already forgot the ones we closed.
      if (this.peers.get(to) !== peer) return;
      this.peers.delete(to);
      this.links.delete(to);
      this.pending.delete(to);
      this.open.delete(peer);
      events.state(to, insecure ? 'insecure' : 'failed');
    });
  }

  signal(from: ParticipantId, data: SignalData, via: Link['via'] = 'server'): void {
    const peer = this.peers.get(from);
    const link = this.links.get(from);
    if (!peer || peer.destroyed || !link) return;
    if (data.type === 'offer') link.via = via;
    // A second answer to an offer sent twice (see restartIce) finds us stable: simple-peer would fail on it.
    if (data.type === 'answer' && this.connectionTo(from)?.signalingState !== 'have-local-offer') return;
    if (data.type !== 'restart-ice') return peer.signal(data as SimplePeer.SignalData);
    // The other side lost the path: the restart is ours to make (we send the offers).
    const now = Date.now();
    if (!link.initiator || !link.recovery.acceptsRequest(now)) return;
    link.recovery.noteRestart(now);
    this.restartIce(from, false);
  }

  /**
   * Restarts ICE with one participant (fresh candidates, the relay's included), optionally
   * through the relay only. The initiator restarts; the other side asks it to.
   */
  restartIce(to: ParticipantId, relayOnly: boolean): void {
    const peer = this.peers.get(to);
    const link = this.links.get(to);
    const pc = this.connectionTo(to);
    if (!peer || peer.destroyed || !link || !pc) return;
    if (relayOnly) useRelayOnly(pc);
    if (!link.initiator) return this.sendSignal(to, { type: 'restart-ice' });
    if (pc.signalingState === 'have-local-offer' && pc.localDescription) {
      // Our last offer got no answer (lost with the path): send it again (with the candidates
      // gathered since, which are in it) by the server. An offer applied twice does no harm.
      link.via = 'server';
      this.options.events.signal(to, { type: 'offer', sdp: pc.localDescription.sdp });
      return;
    }
    pc.restartIce();
    // simple-peer's negotiate() (missing from its types) sends the next offer, now with fresh ICE credentials.
    (peer as unknown as { negotiate(): void }).negotiate();
  }

  private checkIce(id: ParticipantId): void {
    const peer = this.peers.get(id);
    const link = this.links.get(id);
    const pc = this.connectionTo(id);
    if (!peer || peer.destroyed || !link || !pc) return;
    const now = Date.now();
    const action = link.recovery.update(pc.iceConnectionState, now);
    const reconnecting = link.recovery.reconnecting || silent(link, pc, now);
    if (reconnecting !== link.shownReconnecting && this.open.has(peer)) {
      link.shownReconnecting = reconnecting;
      this.options.events.state(id, reconnecting ? 'reconnecting' : 'connected');
    }
    if (action === 'give-up') peer.destroy();
    else if (action) this.restartIce(id, action === 'restart-relay');
    // A first connection still failed once its grace is over: the failure simple-peer was kept from seeing.
    // A failed DTLS handshake gets no grace (the path worked, the certificate did not): it ends at once as insecure.
    else if (!link.recovery.recovering && (now - link.startedAt >= FIRST_CONNECT_GRACE_MS || dtlsTransports(pc).some((transport) => transport.state === 'failed')) && (pc.iceConnectionState === 'failed' || pc.connectionState === 'failed')) {
      peer.destroy(new Error('Ice connection failed.'));
    }
  }

  private sendSignal(to: ParticipantId, data: SignalData): void {
    const peer = this.peers.get(to);
    const link = this.links.get(to);
    if (!peer || !link) return;
    if (data.type !== 'candidate' && data.type !== 'answer') {
      const healthy = ['connected', 'completed'].includes(this.connectionTo(to)?.iceConnectionState ?? '');
      link.via = healthy && this.open.has(peer) && data.type !== 'restart-ice' ? 'channel' : 'server';
    }
    if (link.via === 'channel' && channelOf(peer)?.readyState === 'open') peer.send(JSON.stringify({ type: 'signal', data } satisfies PeerMessage));
    else this.options.events.signal(to, data);
  }


  send(to: ParticipantId, message: PeerMessage): void {
    const peer = this.peers.get(to);
    if (!peer || peer.destroyed) return;
    if (this.open.has(peer) && channelOf(peer)?.readyState === 'open') peer.send(JSON.stringify(message));
    else this.pending.set(to, [...(this.pending.get(to) ?? []), message]);
  }

  broadcast(message: PeerMessage): void {
    for (const id of this.peers.keys()) this.send(id, message);
  }

  /**
   * Sends `track` (a shared screen) instead of the camera to everyone, or the camera again (null).
   * With a camera this is RTCRtpSender.replaceTrack: no renegotiation, no glitch. Without one the
   * screen is a new track, which costs one renegotiation when it starts and one when it stops.
   */
  setScreen(track: MediaStreamTrack | null): void {
    const previous = this.screen;
    this.screen = track;
    for (const peer of this.peers.values()) if (!peer.destroyed) this.switchVideo(peer, previous, track);
  }

  private switchVideo(peer: SimplePeer.Instance, from: MediaStreamTrack | null, to: MediaStreamTrack | null): void {
    const stream = this.options.stream;
    const camera = stream?.getVideoTracks()[0];
    try {
      if (stream && camera) {
        peer.replaceTrack(from ?? camera, to ?? camera, stream);
        return;
      }
      const carrier = stream ?? (this.screenStream ??= new MediaStream());
      if (from) peer.removeTrack(from, carrier);
      if (to) peer.addTrack(to, carrier);
    } catch (error) {
      console.warn('could not switch the video track', error);
    }
  }

  /** The latest audio level (0…1) heard from each participant, from the RTP packets' level headers. */
  audioLevels(): Map<ParticipantId, number> {
    const levels = new Map<ParticipantId, number>();
    for (const id of this.peers.keys()) {
      const receivers = this.connectionTo(id)?.getReceivers().filter((receiver) => receiver.track.kind === 'audio') ?? [];
      const sources = receivers.flatMap((receiver) => receiver.getSynchronizationSources?.() ?? []);
      levels.set(id, Math.max(0, ...sources.map((source) => source.audioLevel ?? 0)));
    }
    return levels;
  }

  /** Whether a connection to this participant is up or being set up. */
  has(id: ParticipantId): boolean {
    return Boolean(this.connectionTo(id));
  }

  /** The underlying RTCPeerConnection, for statistics. */
  connectionTo(id: ParticipantId): RTCPeerConnection | undefined {
    return (this.peers.get(id) as unknown as { _pc?: RTCPeerConnection } | undefined)?._pc;
  }

  remove(id: ParticipantId): void {
    const peer = this.peers.get(id);
    this.peers.delete(id);
    this.links.delete(id);
    this.pending.delete(id);
    if (peer) this.open.delete(peer);
    peer?.destroy();
  }

  destroy(): void {
    clearInterval(this.iceTimer);
    for (const id of [...this.peers.keys()]) this.remove(id);
  }
}

function dtlsTransports(pc: RTCPeerConnection | undefined): RTCDtlsTransport[] {
  if (!pc) return [];
  const transports = [pc.sctp?.transport, ...pc.getTransceivers().flatMap((t) => [t.sender.transport, t.receiver.transport])];
  return transports.filter((transport): transport is RTCDtlsTransport => Boolean(transport));
}

/**
 * simple-peer destroys a connection as soon as ICE fails; while `recovering()` we restart ICE
 * instead and let simple-peer see the failure only once the restarts have run out. A failed DTLS
 * handshake is no network problem: that failure goes through at once.
 */
function keepThroughIceFailure(peer: SimplePeer.Instance, recovering: () => boolean): void {
  const internals = peer as unknown as Record<'_onIceStateChange' | '_onConnectionStateChange', () => void> & { _pc: RTCPeerConnection };
  for (const handler of ['_onIceStateChange', '_onConnectionStateChange'] as const) {
    const original = internals[handler].bind(peer);
    internals[handler] = () => {
      const pc = internals._pc;
      const dtlsFailed = dtlsTransports(pc).some((transport) => transport.state === 'failed');
      if ((pc.iceConnectionState === 'failed' || pc.connectionState === 'failed') && recovering() && !dtlsFailed) return;
      original();
    };
  }
}

/** Whether a participant who was sending has not been heard (no packet of any stream) for SILENCE_MS. */
function silent(link: Link, pc: RTCPeerConnection, now: number): boolean {
  const sources = pc.getReceivers().flatMap((receiver) => receiver.getSynchronizationSources?.() ?? []);
  // Compared with itself only: browsers differ in the clock these timestamps are on.
  const packetTime = Math.max(-Infinity, ...sources.map((source) => source.timestamp));
  if (packetTime === -Infinity) return link.heard !== null && now - link.heard.changedAt >= SILENCE_MS;
  if (link.heard?.packetTime !== packetTime) link.heard = { packetTime, changedAt: now };
  return now - link.heard.changedAt >= SILENCE_MS;
}

/** From the next ICE restart on, this connection gathers (and so uses) relay candidates only. */
function useRelayOnly(pc: RTCPeerConnection): void {
  try {
    pc.setConfiguration({ ...pc.getConfiguration(), iceTransportPolicy: 'relay' });
  } catch (error) {
    console.warn('could not switch the connection to the relay', error);
  }
}

function channelOf(peer: SimplePeer.Instance): RTCDataChannel | undefined {
  return (peer as unknown as { _channel?: RTCDataChannel })._channel;
}

// One connection to one participant. The only file that knows simple-peer's internals (its
// RTCPeerConnection, its data channel, its negotiate(), its ICE failure handlers): the rest of the
// engine sees a Peer.

import SimplePeer from 'simple-peer';
import type { IceServer, SignalData } from '../../../signal/protocol.js';
import { IceRecovery } from './ice-recovery.js';
import { dtlsTransports, SilenceWatch, useRelayOnly } from './transport-watch.js';
import { parsePeerMessage, type PeerMessage } from './peer-protocol.js';

/**
 * reconnecting: was connected, lost its path, ICE is being restarted (media may stall meanwhile).
 * insecure: the network path worked but DTLS did not come up (e.g. a certificate that does not match its fingerprint).
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'insecure';

export interface PeerEvents {
  /** Signalling for the server to carry to the other side. */
  signal(data: SignalData): void;
  stream(stream: MediaStream): void;
  state(state: ConnectionState): void;
  message(message: PeerMessage): void;
  /** The connection ended by itself (not by destroy()); a last state() follows. */
  ended(): void;
}

export interface PeerOptions {
  /** We send the first offer: we own the negotiation, ICE restarts included. */
  initiator: boolean;
  iceServers: IceServer[];
  relayOnly: boolean;
  certificate: RTCCertificate | null;
  stream: MediaStream | null;
  events: PeerEvents;
}

/**
 * A new connection may report ICE 'failed' while the other side's candidates are still trickling
 * in: a relay-only browser whose relay refuses the other side's private addresses (as it must)
 * fails every pair at once until the other side's relay candidate arrives, which on a loaded
 * machine comes later. Chromium checks again when it does; the failure is final only after this.
 */
const FIRST_CONNECT_GRACE_MS = 10_000;

export class Peer {
  readonly initiator: boolean;
  readonly #peer: SimplePeer.Instance;
  readonly #events: PeerEvents;
  readonly #recovery = new IceRecovery();
  /**
   * Where this connection's signalling goes: 'channel' (its own data channel, so renegotiation
   * works while the server is down) when the connection is healthy as a negotiation starts,
   * otherwise 'server'. An answer goes back the way its offer came (the two sides may judge the
   * path differently), and candidates follow their description, so nothing overtakes it.
   */
  #via: 'server' | 'channel' = 'server';
  readonly #silence = new SilenceWatch();
  /** What the tile was last told: reconnecting or not. */
  #shownReconnecting = false;
  readonly #startedAt = Date.now();
  /** The data channel is open: messages go straight out. */
  #open = false;
  /** Messages before the channel opened (the other side may start talking first). */
  #pending: PeerMessage[] = [];
  #insecure = false;
  #destroyedByUs = false;

  constructor({ initiator, iceServers, relayOnly, certificate, stream, events }: PeerOptions) {
    this.initiator = initiator;
    this.#events = events;
    this.#peer = new SimplePeer({
      initiator,
      trickle: true,
      // Always Treff's own list: simple-peer's default would contact public STUN servers of third parties.
      config: { iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all', ...(certificate ? { certificates: [certificate] } : {}) },
      ...(stream ? { stream } : {}),
      // A participant without camera or microphone still offers to receive both (without this,
      // simple-peer's answerer has to request transceivers, costing a renegotiation round trip).
      offerOptions: { offerToReceiveAudio: true, offerToReceiveVideo: true },
    });
    keepThroughIceFailure(this.#peer, () => this.#recovery.recovering || Date.now() - this.#startedAt < FIRST_CONNECT_GRACE_MS);
    this.connection?.addEventListener('iceconnectionstatechange', () => this.checkIce());
    this.#wire();
  }

  /** The underlying RTCPeerConnection; undefined once simple-peer let go of it. */
  get connection(): RTCPeerConnection | undefined {
    return (this.#peer as unknown as { _pc?: RTCPeerConnection | null })._pc ?? undefined;
  }

  get live(): boolean {
    return !this.#peer.destroyed;
  }

  get #channel(): RTCDataChannel | undefined {
    return (this.#peer as unknown as { _channel?: RTCDataChannel })._channel;
  }

  #wire(): void {
    const peer = this.#peer;
    const events = this.#events;
    // Watch the DTLS transports themselves: by the time simple-peer reports the failure it has
    // already closed the connection, and a failed handshake looks like any other failure.
    const watched = new WeakSet<RTCDtlsTransport>();
    const watchDtls = () => {
      for (const transport of dtlsTransports(this.connection)) {
        if (watched.has(transport)) continue;
        watched.add(transport);
        transport.addEventListener('statechange', () => (this.#insecure ||= transport.state === 'failed'));
      }
    };
    peer.on('signal', (data) => {
      watchDtls();
      this.#sendSignal(data as SignalData);
    });
    const reported = new Set<string>();
    peer.on('stream', (remote: MediaStream) => {
      reported.add(remote.id);
      events.stream(remote);
    });
    // A track added later (a screen from someone without a camera) joins a stream already shown:
    // a new MediaStream object makes the tile pick it up.
    peer.on('track', (_track: MediaStreamTrack, remote: MediaStream) => {
      if (reported.has(remote.id)) events.stream(new MediaStream(remote.getTracks()));
    });
    // Connected once the data channel is open. simple-peer's own 'connect' also waits until
    // getStats shows a selected candidate pair, which lags (and was seen to stall) under load
    // while media already flows; whichever comes first counts.
    const connected = () => {
      if (this.#open || peer.destroyed || this.#destroyedByUs) return;
      this.#open = true;
      this.#pending.forEach((message) => peer.send(JSON.stringify(message)));
      this.#pending = [];
      events.state('connected');
    };
    const watchChannel = (channel: RTCDataChannel | undefined) => {
      if (!channel) return;
      if (channel.readyState === 'open') connected();
      else channel.addEventListener('open', connected, { once: true });
    };
    watchChannel(this.#channel);
    this.connection?.addEventListener('datachannel', (event) => watchChannel(event.channel));
    peer.on('connect', connected);
    peer.on('data', (chunk: Uint8Array | string) => {
      connected();
      const message = parsePeerMessage(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      if (message?.type === 'signal') this.signal(message.data, 'channel');
      else if (message) events.message(message);
    });
    peer.on('error', (error: Error) => {
      console.warn(`connection ${this.#insecure ? 'could not be secured' : 'failed'}`, error);
    });
    peer.on('close', () => {
      // Only a connection that is still ours reports: destroy() is the mesh forgetting it.
      if (this.#destroyedByUs) return;
      this.#open = false;
      this.#pending = [];
      events.ended();
      events.state(this.#insecure ? 'insecure' : 'failed');
    });
  }

  signal(data: SignalData, via: 'server' | 'channel' = 'server'): void {
    if (this.#peer.destroyed) return;
    if (data.type === 'offer') this.#via = via;
    // A second answer to an offer sent twice (see restartIce) finds us stable: simple-peer would fail on it.
    if (data.type === 'answer' && this.connection?.signalingState !== 'have-local-offer') return;
    if (data.type !== 'restart-ice') return this.#peer.signal(data as SimplePeer.SignalData);
    // The other side lost the path: the restart is ours to make (we send the offers).
    const now = Date.now();
    if (!this.initiator || !this.#recovery.acceptsRequest(now)) return;
    this.#recovery.noteRestart(now);
    this.restartIce(false);
  }

  /**
   * Restarts ICE (fresh candidates, the relay's included), optionally through the relay only.
   * The initiator restarts; the other side asks it to.
   */
  restartIce(relayOnly: boolean): void {
    const pc = this.connection;
    if (this.#peer.destroyed || !pc) return;
    if (relayOnly) useRelayOnly(pc);
    if (!this.initiator) return this.#sendSignal({ type: 'restart-ice' });
    if (pc.signalingState === 'have-local-offer' && pc.localDescription) {
      // Our last offer got no answer (lost with the path): send it again (with the candidates
      // gathered since, which are in it) by the server. An offer applied twice does no harm.
      this.#via = 'server';
      this.#events.signal({ type: 'offer', sdp: pc.localDescription.sdp });
      return;
    }
    pc.restartIce();
    // simple-peer's negotiate() (missing from its types) sends the next offer, now with fresh ICE credentials.
    (this.#peer as unknown as { negotiate(): void }).negotiate();
  }

  /** The time-based steps of recovery; called now and then, and on every ICE state change. */
  checkIce(): void {
    const pc = this.connection;
    if (this.#peer.destroyed || !pc) return;
    const now = Date.now();
    const action = this.#recovery.update(pc.iceConnectionState, now);
    const reconnecting = this.#recovery.reconnecting || this.#silence.silent(pc, now);
    if (reconnecting !== this.#shownReconnecting && this.#open) {
      this.#shownReconnecting = reconnecting;
      this.#events.state(reconnecting ? 'reconnecting' : 'connected');
    }
    if (action === 'give-up') this.#peer.destroy();
    else if (action) this.restartIce(action === 'restart-relay');
    // A first connection still failed once its grace is over: the failure simple-peer was kept from seeing.
    // A failed DTLS handshake gets no grace (the path worked, the certificate did not): it ends at once as insecure.
    else if (!this.#recovery.recovering && (now - this.#startedAt >= FIRST_CONNECT_GRACE_MS || dtlsTransports(pc).some((transport) => transport.state === 'failed')) && (pc.iceConnectionState === 'failed' || pc.connectionState === 'failed')) {
      this.#peer.destroy(new Error('Ice connection failed.'));
    }
  }

  send(message: PeerMessage): void {
    if (this.#peer.destroyed) return;
    if (this.#open && this.#channel?.readyState === 'open') this.#peer.send(JSON.stringify(message));
    else this.#pending.push(message);
  }

  /**
   * Sends `to` instead of `from` as the video (null: the camera). With a camera this is
   * RTCRtpSender.replaceTrack: no renegotiation, no glitch. Without one the screen is a new track,
   * carried by `carrier`, which costs one renegotiation when it starts and one when it stops.
   */
  switchVideo(stream: MediaStream | null, carrier: () => MediaStream, from: MediaStreamTrack | null, to: MediaStreamTrack | null): void {
    if (this.#peer.destroyed) return;
    const camera = stream?.getVideoTracks()[0];
    try {
      if (stream && camera) return this.#peer.replaceTrack(from ?? camera, to ?? camera, stream);
      const holder = stream ?? carrier();
      if (from) this.#peer.removeTrack(from, holder);
      if (to) this.#peer.addTrack(to, holder);
    } catch (error) {
      console.warn('could not switch the video track', error);
    }
  }

  /** The latest audio level (0…1) heard, from the RTP packets' level headers. */
  audioLevel(): number {
    const receivers = this.connection?.getReceivers().filter((receiver) => receiver.track.kind === 'audio') ?? [];
    const sources = receivers.flatMap((receiver) => receiver.getSynchronizationSources?.() ?? []);
    return Math.max(0, ...sources.map((source) => source.audioLevel ?? 0));
  }

  destroy(): void {
    this.#destroyedByUs = true;
    this.#peer.destroy();
  }

  #sendSignal(data: SignalData): void {
    if (data.type !== 'candidate' && data.type !== 'answer') {
      const healthy = ['connected', 'completed'].includes(this.connection?.iceConnectionState ?? '');
      this.#via = healthy && this.#open && data.type !== 'restart-ice' ? 'channel' : 'server';
    }
    if (this.#via === 'channel' && this.#channel?.readyState === 'open') this.#peer.send(JSON.stringify({ type: 'signal', data } satisfies PeerMessage));
    else this.#events.signal(data);
  }
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

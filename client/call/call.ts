// One meeting as seen from this browser: the coordinator. It holds the connection to the server
// and, once joined, the mesh; routes every server and peer message to the feature it belongs to;
// and tells the features (presence, chat, moderation, quality, safety) what happens to each peer.
// No DOM here beyond WebRTC and WebSocket; everything it builds on comes in through CallParts.

import type { IceServer, Participant, ParticipantId, ServerMessage } from '../../signal/protocol.js';
import { tabStore, type KeyValueStore } from '../storage.js';
import { Chat } from './chat.js';
import { browserClock, type Clock, type TimerId } from './clock.js';
import { CredentialRefresh } from './connection/credential-refresh.js';
import { Mesh, type ConnectionState } from './connection/mesh.js';
import type { PeerMessage } from './connection/peer-protocol.js';
import { webSocketSignalling, type Signalling, type SignallingFactory } from './connection/signalling.js';
import type { CallContext, CallFeature, MeshFactory, MeshPart } from './context.js';
import { unhandled } from './exhaustive.js';
import type { ScreenResult } from './media/screen.js';
import { Moderation } from './moderation.js';
import { Presence } from './presence.js';
import { CallQuality } from './quality/call-quality.js';
import { CallSafety } from './safety/call-safety.js';
import { verifiedContacts, type VerifiedContacts } from './safety/verified-contacts.js';
import { afterClose, afterWelcome, joinMessage } from './session.js';
import { CallStore, initialState, newParticipant, participantOf, type CallError, type CallState } from './state.js';

export type { CallError, CallState, Notice, RemoteParticipant, Safety } from './state.js';

export interface CallOptions {
  /** The server's signalling endpoint (…/ws); the meeting is added to it. */
  url: string;
  room: string;
  name: string;
  stream: MediaStream | null;
  relayOnly: boolean;
  /** For a meeting with a password. */
  password?: string;
  /** Joining without video, on a seat for listeners (the meeting was full for video senders). */
  audioOnly?: boolean;
  /** This browser's persistent DTLS certificate; null lets the browser make a throwaway one. */
  certificate?: RTCCertificate | null;
}

/** What the call is built from: the browser's own by default, fakes in the call's unit tests. */
export interface CallParts {
  signalling: SignallingFactory;
  mesh: MeshFactory;
  clock: Clock;
  /** The tab's storage (the moderator key). */
  tabStorage: KeyValueStore;
  /** Where verified contacts are remembered; localStorage by default. */
  contacts: VerifiedContacts;
}

/** How often the server hears which peers' connections are down. */
const PEER_LOST_CHECK_MS = 3000;

export class Call {
  private readonly store: CallStore;
  private readonly parts: CallParts;
  private readonly context: CallContext;
  private readonly presence: Presence;
  private readonly chat: Chat;
  readonly moderation: Moderation;
  private signalling: Signalling | null = null;
  private mesh: MeshPart | null = null;
  /** Built on join, dropped when the call ends or starts afresh. */
  private joined: { quality: CallQuality; safety: CallSafety; relay: CredentialRefresh; lostCheck: TimerId } | null = null;
  private resumeToken: string | undefined;
  private reconnectAttempts = 0;
  private reconnectTimer: TimerId | undefined;

  constructor(
    private readonly options: CallOptions,
    parts: Partial<CallParts> = {},
  ) {
    this.parts = {
      signalling: parts.signalling ?? webSocketSignalling(options.url, options.room),
      mesh: parts.mesh ?? ((meshOptions) => new Mesh(meshOptions)),
      clock: parts.clock ?? browserClock,
      tabStorage: parts.tabStorage ?? tabStore,
      contacts: parts.contacts ?? verifiedContacts(),
    };
    this.store = new CallStore(initialState(options.room, options.stream, options.relayOnly));
    this.context = {
      store: this.store,
      clock: this.parts.clock,
      stream: options.stream,
      mesh: () => this.mesh,
      toServer: (message) => this.signalling?.send(message),
    };
    this.presence = new Presence(this.context, this.audioOnly);
    this.chat = new Chat(this.context, options.name);
    this.moderation = new Moderation(this.context, options.room, this.parts.tabStorage, options.password);
  }

  get state(): CallState {
    return this.store.state;
  }

  subscribe(listener: (state: CallState) => void): () => void {
    return this.store.subscribe(listener);
  }

  start(): void {
    this.signalling = this.parts.signalling({ onMessage: (message) => this.onServerMessage(message), onClose: (code) => this.onServerClosed(code) }, this.resumeToken);
  }

  get audioOnly(): boolean {
    return this.options.audioOnly === true;
  }

  hasTrack = (kind: 'audio' | 'video'): boolean => this.presence.hasTrack(kind);
  setMicrophone = (on: boolean): void => this.presence.setMicrophone(on);
  setCamera = (on: boolean): void => this.presence.setCamera(on);
  setHand = (raised: boolean): void => this.presence.setHand(raised);
  startScreenShare = (): Promise<ScreenResult> => this.presence.startScreenShare();
  stopScreenShare = (): void => this.presence.stopScreenShare();
  /** False when the text is empty or too long. */
  sendChat = (text: string): boolean => this.chat.send(text);
  markVerified = (id: ParticipantId): void => this.joined?.safety.markVerified(id);
  /** The UI reports how large it shows a participant's tile; they adapt what they send me. */
  reportTileSize = (id: ParticipantId, width: number, height: number): void => this.joined?.quality.iShow(id, width, height);
  dismissNotice = (): void => this.store.update({ notice: null });

  leave(): void {
    this.signalling?.send({ type: 'leave' });
    this.end('left', null);
  }

  private end(phase: 'left' | 'failed', error: CallError | null): void {
    this.parts.clock.clearTimeout(this.reconnectTimer);
    this.presence.stop();
    this.signalling?.close();
    this.signalling = null;
    this.dropCall();
    this.store.update({ phase, error, participants: [], serverConnected: false });
  }

  private get features(): CallFeature[] {
    return this.joined ? [this.presence, this.joined.quality, this.joined.safety] : [this.presence];
  }

  private onServerMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        return this.onWelcome(message);
      case 'joined':
        return this.onJoined(message);
      case 'participant-joined':
        // Someone we knew whose connection to us died meanwhile: start over, they send the offer.
        if (participantOf(this.state, message.participant.id) && !this.mesh?.has(message.participant.id)) this.forget(message.participant.id);
        return this.addParticipant(message.participant, false);
      case 'participant-left':
        return this.forget(message.id);
      case 'moderator-changed':
      case 'moderator-key':
      case 'room-settings':
      case 'knocking':
      case 'knock-withdrawn':
        return this.moderation.receive(message);
      case 'lobby-waiting':
        return this.store.update({ phase: 'waiting', serverConnected: true });
      case 'removed':
        return this.end('failed', 'removed');
      case 'mute-request':
        if (this.state.local.audio) this.presence.setMicrophone(false);
        return this.store.update({ notice: 'muted-by-moderator' });
      case 'signal':
        return this.mesh?.signal(message.from, message.data);
      case 'pong':
        return;
      case 'ice-servers':
        return this.useIceServers(message.iceServers);
      case 'error':
        // Before joining, any refusal ends the attempt; inside the meeting errors are about single messages.
        if (this.state.phase === 'joining' || this.state.phase === 'waiting' || message.code === 'version-mismatch') return this.end('failed', message.code);
        return console.warn(`server: ${message.code}: ${message.message}`);
      default:
        return unhandled(message);
    }
  }

  /** While joining a restarted server with our old id: the meeting's rules as they were before. */
  private rejoining: CallState['settings'] | null = null;

  private onWelcome(message: Extract<ServerMessage, { type: 'welcome' }>): void {
    this.resumeToken = message.resumeToken;
    this.reconnectAttempts = 0;
    const step = afterWelcome(this.state, this.mesh !== null, message);
    if (step === 'resumed') return this.store.update({ serverConnected: true });
    if (step === 'rejoin') {
      this.rejoining = this.state.settings;
      this.store.update({ serverConnected: true });
      return this.sendJoin(this.state.participants.map((p) => p.id));
    }
    if (step === 'fresh') {
      this.dropCall();
      this.store.update({ phase: 'joining', participants: [] });
    }
    this.store.update({ serverConnected: true, you: message.you });
    this.sendJoin();
  }

  private sendJoin(rejoinWith?: ParticipantId[]): void {
    const { room, name, password, audioOnly } = this.options;
    this.signalling?.send(joinMessage({ room, name, password, audioOnly, moderatorKey: this.moderation.moderatorKey, ...(rejoinWith ? { rejoinWith } : {}) }));
  }

  private onJoined(message: Extract<ServerMessage, { type: 'joined' }>): void {
    const { you, participants, moderator, iceServers, settings, moderatorKey } = message;
    this.moderation.keepModeratorKey(moderatorKey);
    const before = this.rejoining;
    this.rejoining = null;
    if (before !== null && this.mesh) {
      // Back in the meeting on a restarted server: peers we still have stay as they are; newcomers get our offer.
      this.useIceServers(iceServers);
      this.store.update({ you, moderator, settings });
      for (const participant of participants) {
        if (participantOf(this.state, participant.id) && !this.mesh.has(participant.id)) this.forget(participant.id);
        this.addParticipant(participant, true);
      }
      return this.moderation.restoreRules(before);
    }
    this.startCall(message);
    const relayAvailable = iceServers.some((server) => server.urls.some((url) => /^turns?:/.test(url)));
    this.store.update({ phase: 'joined', you, moderator, relayAvailable, settings });
    this.joined?.relay.schedule(iceServers);
    participants.forEach((participant) => this.addParticipant(participant, true));
  }

  private startCall({ iceServers, uplinkBudgetKbps }: Extract<ServerMessage, { type: 'joined' }>): void {
    const { clock } = this.parts;
    this.mesh = this.parts.mesh({
      iceServers,
      relayOnly: this.options.relayOnly,
      certificate: this.options.certificate ?? null,
      stream: this.options.stream,
      events: {
        signal: (to, data) => this.signalling?.send({ type: 'signal', to, data }),
        stream: (from, stream) => this.store.patchParticipant(from, { stream }),
        state: (of, connection) => this.onPeerState(of, connection),
        message: (from, message) => this.onPeerMessage(from, message),
      },
    });
    const safety = new CallSafety(this.context, this.parts.contacts);
    this.joined = {
      safety,
      quality: new CallQuality(this.context, {
        uplinkBudgetBps: uplinkBudgetKbps === undefined ? undefined : uplinkBudgetKbps * 1000,
        onConnectedSample: (id) => safety.nudge(id),
      }),
      relay: new CredentialRefresh(clock, () => this.state.serverConnected && this.signalling?.send({ type: 'ice-servers' })),
      lostCheck: clock.setInterval(() => this.reportLostPeers(), PEER_LOST_CHECK_MS),
    };
  }

  /** The mesh, the quality watch and the safety numbers go; the signalling connection stays. */
  private dropCall(): void {
    if (this.joined) {
      this.joined.quality.stop();
      this.joined.relay.stop();
      this.parts.clock.clearInterval(this.joined.lostCheck);
    }
    this.joined = null;
    this.mesh?.destroy();
    this.mesh = null;
  }

  /** `weOffer`: we are the newcomer, so we send the offer. */
  private addParticipant(participant: Participant, weOffer: boolean): void {
    if (participantOf(this.state, participant.id)) return;
    this.store.update({ participants: [...this.state.participants, newParticipant(participant)] });
    this.mesh?.connect(participant.id, weOffer);
  }

  /** The one way a participant is forgotten: by the mesh, every feature, and the state. */
  private forget(id: ParticipantId): void {
    this.mesh?.remove(id);
    this.features.forEach((feature) => feature.forget?.(id));
    this.store.update({ participants: this.state.participants.filter((p) => p.id !== id) });
  }

  private onPeerState(id: ParticipantId, connection: ConnectionState): void {
    const before = participantOf(this.state, id)?.connection;
    this.store.patchParticipant(id, { connection });
    const features = this.features;
    if (connection === 'reconnecting' || (connection === 'connected' && before === 'reconnecting')) {
      return features.forEach((feature) => feature.peerReconnecting?.(id, connection === 'reconnecting'));
    }
    if (connection === 'connected') features.forEach((feature) => feature.peerConnected?.(id));
    else features.forEach((feature) => feature.peerLost?.(id));
  }

  private onPeerMessage(from: ParticipantId, message: PeerMessage): void {
    switch (message.type) {
      case 'media':
      case 'screen':
      case 'hand':
        return this.presence.receive(from, message);
      case 'chat':
        return this.chat.receive(from, message.text);
      case 'reception':
        return this.joined?.quality.onReceptionReport(from, message);
      case 'view':
        return this.joined?.quality.theyShowMe(from, { width: message.width, height: message.height });
      case 'verify-commit':
      case 'verify-reveal':
        return this.joined?.safety.receive(from, message);
      case 'signal':
        return; // the mesh handles renegotiation itself
      default:
        return unhandled(message);
    }
  }

  /**
   * Tells the server which peers' connections are down, so a participant whose browser crashed
   * (socket gone, seat held) is let go at once instead of after the seat grace period.
   */
  private reportLostPeers(): void {
    if (!this.signalling || !this.mesh) return;
    for (const participant of this.state.participants) {
      const connection = this.mesh.connectionTo(participant.id);
      const lost = connection ? ['disconnected', 'failed', 'closed'].includes(connection.iceConnectionState) : participant.connection !== 'connecting';
      if (lost) this.signalling.send({ type: 'peer-lost', id: participant.id });
    }
  }

  private useIceServers(iceServers: IceServer[]): void {
    this.mesh?.setIceServers(iceServers);
    this.joined?.relay.schedule(iceServers);
  }

  private onServerClosed(code: number): void {
    const step = afterClose(this.state.phase, code, this.reconnectAttempts, this.parts.clock.random());
    if (step.kind === 'ignore') return;
    if (step.kind === 'fail') return this.end('failed', step.error);
    // Peer connections do not need the server: the call goes on while we reconnect.
    this.signalling = null;
    this.rejoining = null;
    this.store.update({ serverConnected: false });
    if (step.kind === 'offline') return;
    this.reconnectAttempts = step.attempts;
    this.reconnectTimer = this.parts.clock.setTimeout(() => {
      if (this.state.phase === 'joined' && !this.signalling) this.start();
    }, step.delayMs);
  }
}

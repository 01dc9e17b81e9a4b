// One meeting as seen from this browser: the coordinator. It holds the connection to the server
// and, once joined, the mesh; routes every server and peer message to the feature it belongs to;
// and tells the features (presence, chat, moderation, quality, safety) what happens to each peer.
// No DOM here beyond WebRTC and WebSocket; everything it builds on comes in through CallParts.

import type { ParticipantId, ServerMessage } from '../../signal/protocol.js';
import { tabStore, type KeyValueStore } from '../storage.js';
import { Chat } from './chat.js';
import { browserClock, type Clock, type TimerId } from './clock.js';
import { Mesh } from './connection/mesh.js';
import { webSocketSignalling, type Signalling, type SignallingFactory } from './connection/signalling.js';
import type { CallContext, MeshFactory } from './context.js';
import { unhandled } from './exhaustive.js';
import { JoinedCall } from './joined-call.js';
import type { ScreenResult } from './media/screen.js';
import { Moderation } from './moderation.js';
import { Presence } from './presence.js';
import { verifiedContacts, type VerifiedContacts } from './safety/verified-contacts.js';
import { afterClose, afterWelcome, joinMessage } from './session.js';
import { CallStore, initialState, type CallError, type CallState } from './state.js';

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

export class Call {
  readonly #store: CallStore;
  readonly #parts: CallParts;
  readonly #context: CallContext;
  readonly #presence: Presence;
  readonly #chat: Chat;
  readonly moderation: Moderation;
  #signalling: Signalling | null = null;
  /** Built on join, dropped when the call ends or starts afresh. */
  #joined: JoinedCall | null = null;
  #resumeToken: string | undefined;
  #reconnectAttempts = 0;
  #reconnectTimer: TimerId | undefined;

  readonly #options: CallOptions;
  constructor(
    options: CallOptions,
    parts: Partial<CallParts> = {},
  ) {
    this.#options = options;
    this.#parts = {
      signalling: parts.signalling ?? webSocketSignalling(options.url, options.room),
      mesh: parts.mesh ?? ((meshOptions) => new Mesh(meshOptions)),
      clock: parts.clock ?? browserClock,
      tabStorage: parts.tabStorage ?? tabStore,
      contacts: parts.contacts ?? verifiedContacts(),
    };
    this.#store = new CallStore(initialState(options.room, options.stream, options.relayOnly));
    this.#context = {
      store: this.#store,
      clock: this.#parts.clock,
      stream: options.stream,
      mesh: () => this.#joined?.mesh ?? null,
      toServer: (message) => this.#signalling?.send(message),
    };
    this.#presence = new Presence(this.#context, this.audioOnly);
    this.#chat = new Chat(this.#context, options.name);
    this.moderation = new Moderation(this.#context, options.room, this.#parts.tabStorage, options.password);
  }

  get state(): CallState {
    return this.#store.state;
  }

  subscribe(listener: (state: CallState) => void): () => void {
    return this.#store.subscribe(listener);
  }

  start(): void {
    this.#signalling = this.#parts.signalling({ onMessage: (message) => this.#onServerMessage(message), onClose: (code) => this.#onServerClosed(code) }, this.#resumeToken);
  }

  get audioOnly(): boolean {
    return this.#options.audioOnly === true;
  }

  hasTrack = (kind: 'audio' | 'video'): boolean => this.#presence.hasTrack(kind);
  setMicrophone = (on: boolean): void => this.#presence.setMicrophone(on);
  setCamera = (on: boolean): void => this.#presence.setCamera(on);
  setHand = (raised: boolean): void => this.#presence.setHand(raised);
  startScreenShare = (): Promise<ScreenResult> => this.#presence.startScreenShare();
  stopScreenShare = (): void => this.#presence.stopScreenShare();
  /** False when the text is empty or too long. */
  sendChat = (text: string): boolean => this.#chat.send(text);
  markVerified = (id: ParticipantId): void => this.#joined?.safety.markVerified(id);
  /** The UI reports how large it shows a participant's tile; they adapt what they send me. */
  reportTileSize = (id: ParticipantId, width: number, height: number): void => this.#joined?.quality.iShow(id, width, height);
  dismissNotice = (): void => this.#store.update({ notice: null });

  leave(): void {
    this.#signalling?.send({ type: 'leave' });
    this.#end('left', null);
  }

  #end(phase: 'left' | 'failed', error: CallError | null): void {
    this.#parts.clock.clearTimeout(this.#reconnectTimer);
    this.#presence.stop();
    this.#signalling?.close();
    this.#signalling = null;
    this.#dropCall();
    this.#store.update({ phase, error, participants: [], serverConnected: false });
  }

  #onServerMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        return this.#onWelcome(message);
      case 'joined':
        return this.#onJoined(message);
      case 'participant-joined':
        // They send the offer.
        return this.#joined?.addAgain(message.participant, false);
      case 'participant-left':
        return this.#joined?.forget(message.id);
      case 'moderator-changed':
      case 'moderator-key':
      case 'room-settings':
      case 'knocking':
      case 'knock-withdrawn':
        return this.moderation.receive(message);
      case 'lobby-waiting':
        return this.#store.update({ phase: 'waiting', serverConnected: true });
      case 'removed':
        return this.#end('failed', 'removed');
      case 'mute-request':
        if (this.state.local.audio) this.#presence.setMicrophone(false);
        return this.#store.update({ notice: 'muted-by-moderator' });
      case 'signal':
        return this.#joined?.mesh.signal(message.from, message.data);
      case 'pong':
        return;
      case 'ice-servers':
        return this.#joined?.useIceServers(message.iceServers);
      case 'error':
        // Before joining, any refusal ends the attempt; inside the meeting errors are about single messages.
        if (this.state.phase === 'joining' || this.state.phase === 'waiting' || message.code === 'version-mismatch') return this.#end('failed', message.code);
        return console.warn(`server: ${message.code}: ${message.message}`);
      default:
        return unhandled(message);
    }
  }

  /** While joining a restarted server with our old id: the meeting's rules as they were before. */
  #rejoining: CallState['settings'] | null = null;

  #onWelcome(message: Extract<ServerMessage, { type: 'welcome' }>): void {
    this.#resumeToken = message.resumeToken;
    this.#reconnectAttempts = 0;
    const step = afterWelcome(this.state, this.#joined !== null, message);
    if (step === 'resumed') return this.#store.update({ serverConnected: true });
    if (step === 'rejoin') {
      this.#rejoining = this.state.settings;
      this.#store.update({ serverConnected: true });
      return this.#sendJoin(this.state.participants.map((p) => p.id));
    }
    if (step === 'fresh') {
      this.#dropCall();
      this.#store.update({ phase: 'joining', participants: [] });
    }
    this.#store.update({ serverConnected: true, you: message.you });
    this.#sendJoin();
  }

  #sendJoin(rejoinWith?: ParticipantId[]): void {
    const { room, name, password, audioOnly } = this.#options;
    this.#signalling?.send(joinMessage({ room, name, password, audioOnly, moderatorKey: this.moderation.moderatorKey, ...(rejoinWith ? { rejoinWith } : {}) }));
  }

  #onJoined(message: Extract<ServerMessage, { type: 'joined' }>): void {
    const { you, participants, moderator, iceServers, settings, moderatorKey } = message;
    this.moderation.keepModeratorKey(moderatorKey);
    const before = this.#rejoining;
    this.#rejoining = null;
    if (before !== null && this.#joined) {
      // Back in the meeting on a restarted server: peers we still have stay as they are; newcomers get our offer.
      this.#joined.useIceServers(iceServers);
      this.#store.update({ you, moderator, settings });
      for (const participant of participants) this.#joined.addAgain(participant, true);
      return this.moderation.restoreRules(before);
    }
    this.#joined = new JoinedCall({ context: this.#context, parts: this.#parts, options: this.#options, presence: this.#presence, chat: this.#chat, signalling: () => this.#signalling }, message);
    const relayAvailable = iceServers.some((server) => server.urls.some((url) => /^turns?:/.test(url)));
    this.#store.update({ phase: 'joined', you, moderator, relayAvailable, settings });
    participants.forEach((participant) => this.#joined?.add(participant, true));
  }

  /** The mesh and everything watching it go; the signalling connection stays. */
  #dropCall(): void {
    this.#joined?.stop();
    this.#joined = null;
  }

  #onServerClosed(code: number): void {
    const step = afterClose(this.state.phase, code, this.#reconnectAttempts, this.#parts.clock.random());
    if (step.kind === 'ignore') return;
    if (step.kind === 'fail') return this.#end('failed', step.error);
    // Peer connections do not need the server: the call goes on while we reconnect.
    this.#signalling = null;
    this.#rejoining = null;
    this.#store.update({ serverConnected: false });
    if (step.kind === 'offline') return;
    this.#reconnectAttempts = step.attempts;
    this.#reconnectTimer = this.#parts.clock.setTimeout(() => {
      if (this.state.phase === 'joined' && !this.#signalling) this.start();
    }, step.delayMs);
  }
}

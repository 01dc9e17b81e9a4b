// One meeting as seen from this browser: signalling, the mesh and the local media, and the
// state the UI renders. No DOM here beyond WebRTC and WebSocket.

import { CloseCode, MAX_REJOIN_PARTICIPANTS, type ClientMessage, type ErrorCode, type IceServer, type Participant, type ParticipantId, type Rejoin, type RoomSettings, type ServerMessage } from '../../signal/protocol.js';
import { ActiveSpeaker } from './quality/active-speaker.js';
import { PairWatch, type PairProblem } from './quality/reception-watch.js';
import { verifiedContacts, type VerifiedContacts } from './safety/certificate.js';
import { appendChat, type ChatMessage } from './chat.js';
import type { VerifyFailure, VerifyResult } from './safety/commit-reveal.js';
import { connectionPath, type ConnectionPath } from './quality/connection-path.js';
import { encryptionStatus, type EncryptionStatus } from './quality/encryption-status.js';
import { Mesh, type ConnectionState } from './connection/mesh.js';
import { rememberModeratorKey, rememberedModeratorKey } from './moderator-key.js';
import { normalizeChatText, type PeerMessage } from './connection/peer-protocol.js';
import { fingerprintOf, type SafetyCode } from './safety/safety-number.js';
import { openScreen, type ScreenResult } from './media/screen.js';
import { SignallingClient } from './connection/signalling.js';
import { BitrateControl, type TileSize } from './quality/bitrate-control.js';
import { Verifications, type Fingerprints } from './safety/verifications.js';
import { MIN_REFRESH_MS, refreshDelayMs } from './connection/credential-refresh.js';

export interface RemoteParticipant {
  id: ParticipantId;
  name: string;
  /** On a seat for listeners: sends no video. */
  audioOnly?: true;
  stream: MediaStream | null;
  /** What the participant says about its own microphone and camera (over the data channel). */
  audio: boolean;
  video: boolean;
  connection: ConnectionState;
  /** Direct or through the relay, from the connection's own statistics; null until known. */
  path: ConnectionPath | null;
  encryption: EncryptionStatus | null;
  safety: Safety;
  /** Sharing a screen (shown large), and since when the hand is raised (null: not raised); both as the participant says. */
  screen: boolean;
  hand: number | null;
  /** A stream that is sent but does not arrive, between this participant and me (who hears whom). */
  problem: PairProblem | null;
}

/** The safety number of the pair (this browser, that participant), from the commit-then-reveal exchange. */
export type Safety =
  | { state: 'pending' }
  | { state: 'ready'; code: SafetyCode; theirFingerprint: string; verified: boolean; changedSinceVerified: boolean }
  | { state: 'failed'; reason: VerifyFailure };

export type CallError = ErrorCode | 'unreachable' | 'removed';

/** Something to tell the user once, e.g. "the moderator muted everyone". */
export type Notice = 'muted-by-moderator' | 'you-are-moderator';

export interface CallState {
  /** waiting: knocked on a meeting with a lobby, until the moderator lets us in. */
  phase: 'joining' | 'waiting' | 'joined' | 'left' | 'failed';
  room: string;
  you: ParticipantId | null;
  moderator: ParticipantId | null;
  /** Remote participants in order of joining. */
  participants: RemoteParticipant[];
  local: { stream: MediaStream | null; audio: boolean; video: boolean; screen: MediaStream | null; hand: boolean };
  /** The chat since this browser joined (no history for newcomers). */
  chat: ChatMessage[];
  /** Who is speaking, from audio levels, with hysteresis. */
  activeSpeaker: ParticipantId | null;
  /** My upload cannot carry the video the room needs: shown as a notice on my tile. */
  weakUplink: boolean;
  /** False while the signalling server is unreachable; running calls go on regardless. */
  serverConnected: boolean;
  /** Whether the server offered a TURN relay for this call. */
  relayAvailable: boolean;
  relayOnly: boolean;
  error: CallError | null;
  settings: RoomSettings;
  /** People waiting in the lobby; only the moderator learns of them. */
  lobby: Participant[];
  notice: Notice | null;
  /** The password this browser set as moderator, for the invitation; never received from the server. */
  password: string | null;
}

export interface CallOptions {
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
  /** Where verified contacts are remembered; localStorage by default. */
  contacts?: VerifiedContacts;
}

/** How often connection statistics are re-read: ICE may move a pair from direct to relayed. */
const STATS_POLL_MS = 3000;
/**
 * Audio levels are cheap to read (no getStats): often enough for the highlight to follow a conversation.
 * Each reading is the level of the last packet only, so the gaps vary (60–140 ms): a fixed period would
 * lock onto a periodic sound (a beep every 500 ms) and could miss every one of its peaks.
 */
const SPEAKER_POLL_MS = { min: 60, max: 140 };

export class Call {
  private current: CallState;
  private readonly listeners = new Set<(state: CallState) => void>();
  private signalling: SignallingClient | null = null;
  private mesh: Mesh | null = null;
  private verifications: Verifications | null = null;
  private pairs: PairWatch | null = null;
  private bitrate: BitrateControl | null = null;
  /** How large each participant shows my tile, from their 'view' messages. */
  private readonly tiles = new Map<ParticipantId, TileSize>();
  /** How large I show each participant's tile, as last reported to them. */
  private readonly myViews = new Map<ParticipantId, TileSize>();
  private resumeToken: string | undefined;
  /** While joining a restarted server with our old id: the meeting's rules as they were before. */
  private rejoining: { settings: RoomSettings } | null = null;
  private reconnectAttempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private speakerTimer: ReturnType<typeof setTimeout> | undefined;
  private credentialTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly speakers = new ActiveSpeaker<ParticipantId>();
  private readonly contacts: VerifiedContacts;

  constructor(private readonly options: CallOptions) {
    this.contacts = options.contacts ?? verifiedContacts();
    const stream = options.stream;
    this.current = {
      phase: 'joining',
      room: options.room,
      you: null,
      moderator: null,
      participants: [],
      local: { stream, audio: Boolean(stream?.getAudioTracks().length), video: Boolean(stream?.getVideoTracks().length), screen: null, hand: false },
      chat: [],
      activeSpeaker: null,
      weakUplink: false,
      serverConnected: false,
      relayAvailable: false,
      relayOnly: options.relayOnly,
      error: null,
      settings: { locked: false, lobby: false, hasPassword: false },
      lobby: [],
      notice: null,
      password: null,
    };
  }

  get state(): CallState {
    return this.current;
  }

  subscribe(listener: (state: CallState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    this.signalling = new SignallingClient(
      this.options.url,
      {
        onMessage: (message) => this.onServerMessage(message),
        onClose: (code) => this.onServerClosed(code),
      },
      this.resumeToken,
    );
  }

  setMicrophone(on: boolean): void {
    this.options.stream?.getAudioTracks().forEach((track) => (track.enabled = on));
    this.update({ local: { ...this.current.local, audio: on && this.hasTrack('audio') } });
    this.announceMedia();
  }

  setCamera(on: boolean): void {
    this.options.stream?.getVideoTracks().forEach((track) => (track.enabled = on));
    this.update({ local: { ...this.current.local, video: on && this.hasTrack('video') } });
    this.announceMedia();
  }

  /** Sends a chat message to everyone connected; false when the text is empty or too long. */
  sendChat(input: string): boolean {
    const text = normalizeChatText(input);
    if (text === null || !this.mesh) return false;
    this.mesh.broadcast({ type: 'chat', text });
    this.update({ chat: appendChat(this.current.chat, { from: null, name: this.options.name, text, at: Date.now() }) });
    return true;
  }

  setHand(raised: boolean): void {
    this.update({ local: { ...this.current.local, hand: raised } });
    this.mesh?.broadcast({ type: 'hand', raised });
  }

  /** Shares a screen in place of the camera until stopScreenShare() or the browser's own "stop sharing". */
  async startScreenShare(): Promise<ScreenResult> {
    // A listener's seat was given on the promise of sending no video.
    if (this.audioOnly) return { problem: 'unsupported' };
    if (this.current.local.screen) return { track: this.current.local.screen.getVideoTracks()[0]! };
    const result = await openScreen();
    if (!('track' in result)) return result;
    if (this.current.phase === 'left' || this.current.phase === 'failed') {
      result.track.stop();
      return { problem: 'cancelled' };
    }
    result.track.addEventListener('ended', () => this.stopScreenShare());
    this.mesh?.setScreen(result.track);
    this.update({ local: { ...this.current.local, screen: new MediaStream([result.track]) } });
    this.mesh?.broadcast({ type: 'screen', sharing: true });
    return result;
  }

  stopScreenShare(): void {
    const screen = this.current.local.screen;
    if (!screen) return;
    screen.getTracks().forEach((track) => track.stop());
    this.mesh?.setScreen(null);
    this.update({ local: { ...this.current.local, screen: null } });
    this.mesh?.broadcast({ type: 'screen', sharing: false });
  }

  get audioOnly(): boolean {
    return this.options.audioOnly === true;
  }

  hasTrack(kind: 'audio' | 'video'): boolean {
    return Boolean(this.options.stream?.getTracks().some((track) => track.kind === kind));
  }

  // Moderator actions: the server checks the role; the UI only offers them to the moderator.

  setPassword(password: string | null): void {
    this.signalling?.send({ type: 'set-password', password });
    this.update({ password });
  }

  moderate(action: Extract<ClientMessage, { type: 'make-moderator' | 'remove' | 'mute-all' | 'lock' | 'lobby' | 'admit' | 'decline' }>): void {
    this.signalling?.send(action);
    if (action.type === 'admit' || action.type === 'decline') this.update({ lobby: this.current.lobby.filter((p) => p.id !== action.id) });
  }

  dismissNotice(): void {
    this.update({ notice: null });
  }

  /** Remembers on this device that the person really is who the safety number was compared with. */
  markVerified(id: ParticipantId): void {
    const participant = this.current.participants.find((p) => p.id === id);
    if (participant?.safety.state !== 'ready') return;
    this.contacts.markVerified(participant.safety.theirFingerprint, participant.name);
    this.patchParticipant(id, { safety: { ...participant.safety, verified: true, changedSinceVerified: false } });
  }

  /** The connection to one participant, for statistics and diagnostics. */
  connectionTo(id: ParticipantId): RTCPeerConnection | undefined {
    return this.mesh?.connectionTo(id);
  }

  leave(): void {
    this.signalling?.send({ type: 'leave' });
    this.end('left', null);
  }

  private end(phase: 'left' | 'failed', error: CallError | null): void {
    clearTimeout(this.reconnectTimer);
    this.current.local.screen?.getTracks().forEach((track) => track.stop());
    this.signalling?.close();
    this.signalling = null;
    this.teardownMesh();
    this.update({ phase, error, participants: [], serverConnected: false });
  }

  private teardownMesh(): void {
    this.bitrate?.stop();
    this.bitrate = null;
    clearInterval(this.statsTimer);
    clearTimeout(this.credentialTimer);
    clearTimeout(this.speakerTimer);
    this.mesh?.destroy();
    this.mesh = null;
    this.verifications = null;
    this.pairs = null;
    this.tiles.clear();
    this.myViews.clear();
  }

  private onServerMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        this.resumeToken = message.resumeToken;
        this.reconnectAttempts = 0;
        if (this.current.phase === 'joined') {
          // Back within the grace period: same seat, same peers, nothing to redo.
          if (message.resumed) return this.update({ serverConnected: true });
          if (message.you === this.current.you && this.mesh) {
            // The server restarted and took our token: same id, so join again keeping every peer connection.
            this.rejoining = { settings: this.current.settings };
            this.update({ serverConnected: true });
            return this.sendJoin({ participants: this.current.participants.map((p) => p.id).slice(0, MAX_REJOIN_PARTICIPANTS) });
          }
          // The seat is gone with a new id (we were away too long): join afresh.
          this.teardownMesh();
          this.update({ phase: 'joining', participants: [] });
        }
        this.update({ serverConnected: true, you: message.you });
        return this.sendJoin();
      case 'joined':
        if (this.rejoining && this.mesh) return this.onRejoined(message);
        this.onJoined(message);
        return;
      case 'participant-joined':
        // Someone we knew whose connection to us died meanwhile: start over, they send the offer.
        if (this.current.participants.some((p) => p.id === message.participant.id) && !this.mesh?.connectionTo(message.participant.id)) this.forgetParticipant(message.participant.id);
        this.addParticipant(message.participant, false);
        return;
      case 'participant-left':
        this.forgetParticipant(message.id);
        return;
      case 'moderator-changed':
        this.update({ moderator: message.moderator, ...(message.moderator === this.current.you ? {} : { lobby: [] }) });
        return;
      case 'moderator-key':
        rememberModeratorKey(this.options.room, message.key);
        if (this.current.phase === 'joined') this.update({ notice: 'you-are-moderator' });
        return;
      case 'room-settings':
        this.update({ settings: message.settings });
        return;
      case 'lobby-waiting':
        this.update({ phase: 'waiting', serverConnected: true });
        return;
      case 'knocking':
        if (!this.current.lobby.some((p) => p.id === message.participant.id)) this.update({ lobby: [...this.current.lobby, message.participant] });
        return;
      case 'knock-withdrawn':
        this.update({ lobby: this.current.lobby.filter((p) => p.id !== message.id) });
        return;
      case 'removed':
        this.end('failed', 'removed');
        return;
      case 'mute-request':
        if (this.current.local.audio) this.setMicrophone(false);
        this.update({ notice: 'muted-by-moderator' });
        return;
      case 'signal':
        this.mesh?.signal(message.from, message.data);
        return;
      case 'pong':
        return;
      case 'ice-servers':
        this.useIceServers(message.iceServers);
        return;
      case 'error':
        // Before joining, any refusal ends the attempt; inside the meeting errors are about single messages.
        if (this.current.phase === 'joining' || this.current.phase === 'waiting' || message.code === 'version-mismatch') this.end('failed', message.code);
        else console.warn(`server: ${message.code}: ${message.message}`);
        return;
    }
  }

  /** Back in the meeting on a restarted server: peers we still have stay as they are; newcomers get our offer. */
  private onRejoined({ you, participants, moderator, settings, moderatorKey, iceServers }: Extract<ServerMessage, { type: 'joined' }>): void {
    const before = this.rejoining!.settings;
    this.rejoining = null;
    this.useIceServers(iceServers);
    if (moderatorKey) rememberModeratorKey(this.options.room, moderatorKey);
    this.update({ you, moderator, settings });
    for (const participant of participants) {
      if (!this.mesh?.connectionTo(participant.id)) this.forgetParticipant(participant.id);
      this.addParticipant(participant, true);
    }
    if (moderator !== you) return;
    // The server forgot the meeting's rules; only the moderator's browser brings them back.
    const password = this.current.password ?? this.options.password;
    if (before.hasPassword && !settings.hasPassword && password) this.signalling?.send({ type: 'set-password', password });
    if (before.locked && !settings.locked) this.signalling?.send({ type: 'lock', locked: true });
    if (before.lobby && !settings.lobby) this.signalling?.send({ type: 'lobby', enabled: true });
  }

  /**
   * Tells the server which peers' connections are down, so a participant whose browser crashed
   * (socket gone, seat held) is let go at once instead of after the seat grace period.
   */
  private reportLostPeers(): void {
    if (!this.signalling || !this.mesh) return;
    for (const participant of this.current.participants) {
      const connection = this.mesh.connectionTo(participant.id);
      const lost = connection ? ['disconnected', 'failed', 'closed'].includes(connection.iceConnectionState) : participant.connection !== 'connecting';
      if (lost) this.signalling.send({ type: 'peer-lost', id: participant.id });
    }
  }

  private forgetParticipant(id: ParticipantId): void {
    this.pairs?.remove(id);
    this.mesh?.remove(id);
    this.verifications?.forget(id);
    this.tiles.delete(id);
    this.myViews.delete(id);
    this.bitrate?.nudge();
    this.update({ participants: this.current.participants.filter((p) => p.id !== id) });
  }

  /** `rejoin`: back on a restarted server, still connected to these participants. */
  private sendJoin(rejoin?: Rejoin): void {
    const { room, name, password } = this.options;
    const moderatorKey = rememberedModeratorKey(room);
    this.signalling?.send({
      type: 'join',
      room,
      name,
      ...(password ? { password } : {}),
      ...(moderatorKey ? { moderatorKey } : {}),
      ...(rejoin ? { rejoin } : {}),
      ...(this.options.audioOnly ? { audioOnly: true as const } : {}),
    });
  }

  private onJoined({ you, participants, moderator, iceServers, settings, moderatorKey, uplinkBudgetKbps }: Extract<ServerMessage, { type: 'joined' }>): void {
    if (moderatorKey) rememberModeratorKey(this.options.room, moderatorKey);
    this.pairs = new PairWatch({
      send: (to, message) => this.mesh?.send(to, message),
      repair: (id, relayOnly) => this.mesh?.restartIce(id, relayOnly),
      sendingTo: (id) => this.sendingTo(id),
    });
    this.verifications = new Verifications({
      send: (to, message) => this.mesh?.send(to, message),
      fingerprints: (of) => this.fingerprintsWith(of),
      result: (of, result, fingerprints) => this.onVerified(of, result, fingerprints),
    });
    this.mesh = new Mesh({
      iceServers,
      relayOnly: this.options.relayOnly,
      certificate: this.options.certificate ?? null,
      stream: this.options.stream,
      events: {
        signal: (to, data) => this.signalling?.send({ type: 'signal', to, data }),
        stream: (from, stream) => this.patchParticipant(from, { stream }),
        state: (of, connection) => {
          const before = this.current.participants.find((p) => p.id === of)?.connection;
          this.patchParticipant(of, { connection });
          // An ICE restart keeps the DTLS session, the data channel and what each side knows.
          if (connection !== 'connected') this.pairs?.forget(of);
          if (connection === 'reconnecting' || (connection === 'connected' && before === 'reconnecting')) return this.bitrate?.nudge();
          if (connection === 'connected') {
            this.announceMedia(of);
            const view = this.myViews.get(of);
            if (view) this.mesh?.send(of, { type: 'view', ...view });
            void this.verifications?.begin(of);
            void this.readStats();
          } else {
            this.verifications?.forget(of);
          }
          this.bitrate?.nudge();
        },
        message: (from, message) => this.onPeerMessage(from, message),
      },
    });
    const relayAvailable = iceServers.some((server) => server.urls.some((url) => /^turns?:/.test(url)));
    this.update({ phase: 'joined', you, moderator, relayAvailable, settings });
    this.statsTimer = setInterval(() => {
      void this.readStats();
      this.reportLostPeers();
    }, STATS_POLL_MS);
    // Mesh bitrate control, on by default: audio first, video shared out across the peers.
    this.bitrate = new BitrateControl({
      links: () =>
        this.current.participants.flatMap((p) => {
          const connection = p.connection === 'connected' ? this.mesh?.connectionTo(p.id) : undefined;
          return connection ? [{ id: p.id, connection }] : [];
        }),
      tileOf: (id) => this.tiles.get(id),
      screenSharing: () => this.current.local.screen !== null,
      someoneElseSpeaking: () => this.current.activeSpeaker !== null,
      // The operator's cap, told at join; the policy's default when the server names none.
      uplinkBudgetBps: uplinkBudgetKbps === undefined ? undefined : uplinkBudgetKbps * 1000,
      onWeak: (weak) => weak !== this.current.weakUplink && this.update({ weakUplink: weak }),
    });
    this.bitrate.start();
    this.scheduleSpeakerReading();
    this.scheduleCredentialRefresh(iceServers);
    participants.forEach((participant) => this.addParticipant(participant, true));
  }

  /** `weOffer`: we are the newcomer, so we send the offer. */
  private addParticipant(participant: Participant, weOffer: boolean): void {
    if (this.current.participants.some((p) => p.id === participant.id)) return;
    const remote: RemoteParticipant = {
      ...participant,
      stream: null,
      audio: true,
      video: true,
      connection: 'connecting',
      path: null,
      encryption: null,
      safety: { state: 'pending' },
      screen: false,
      hand: null,
      problem: null,
    };
    this.update({ participants: [...this.current.participants, remote] });
    this.mesh?.connect(participant.id, weOffer);
  }

  private onPeerMessage(from: ParticipantId, message: PeerMessage): void {
    switch (message.type) {
      case 'media':
        this.patchParticipant(from, { audio: message.audio, video: message.video });
        return;
      case 'chat': {
        // The sender is the connection the message came on, named as the server introduced them.
        const sender = this.current.participants.find((p) => p.id === from);
        if (sender) this.update({ chat: appendChat(this.current.chat, { from, name: sender.name, text: message.text, at: Date.now() }) });
        return;
      }
      case 'screen':
        this.patchParticipant(from, { screen: message.sharing });
        return;
      case 'hand': {
        const hand = this.current.participants.find((p) => p.id === from)?.hand ?? null;
        this.patchParticipant(from, { hand: message.raised ? (hand ?? Date.now()) : null });
        return;
      }
      case 'reception':
        this.pairs?.onReport(from, message);
        return;
      case 'view':
        this.tiles.set(from, { width: message.width, height: message.height });
        this.bitrate?.nudge();
        return;
      case 'verify-commit':
      case 'verify-reveal':
        void this.verifications?.receive(from, message);
        return;
    }
  }

  /** The UI reports how large it shows a participant's tile; they adapt what they send me. */
  reportTileSize(id: ParticipantId, width: number, height: number): void {
    const size = { width: Math.round(width), height: Math.round(height) };
    const known = this.myViews.get(id);
    if (known?.width === size.width && known.height === size.height) return;
    this.myViews.set(id, size);
    this.mesh?.send(id, { type: 'view', ...size });
  }

  private async readStats(): Promise<void> {
    for (const participant of this.current.participants) {
      const connection = this.mesh?.connectionTo(participant.id);
      if (!connection || participant.connection !== 'connected') continue;
      const stats = [...(await connection.getStats()).values()] as Array<Record<string, unknown>>;
      const path = connectionPath(stats);
      const encryption = encryptionStatus(stats);
      const known = this.current.participants.find((p) => p.id === participant.id);
      if (!known || known.connection !== 'connected') continue;
      this.pairs?.observe(known.id, { audio: known.audio, video: known.video || known.screen }, stats, Date.now());
      if (known.safety.state === 'pending') void this.verifications?.nudge(participant.id);
      if (path && (path.kind !== known.path?.kind || path.protocol !== known.path.protocol)) this.patchParticipant(participant.id, { path });
      if (JSON.stringify(encryption) !== JSON.stringify(known.encryption)) this.patchParticipant(participant.id, { encryption });
    }
    const problems = this.pairs?.review(Date.now());
    for (const participant of this.current.participants) {
      const problem = problems?.get(participant.id) ?? null;
      if (JSON.stringify(problem) !== JSON.stringify(participant.problem)) this.patchParticipant(participant.id, { problem });
    }
  }

  /** What I send this participant now: my microphone, and video unless it is off or paused for them. */
  private sendingTo(id: ParticipantId): { audio: boolean; video: boolean } {
    const { audio, video, screen } = this.current.local;
    // By transceiver, not by track: a sender that lost its track while my camera is on is a fault to report.
    const transceivers = this.mesh?.connectionTo(id)?.getTransceivers() ?? [];
    const videoSenders = transceivers.filter((t) => t.receiver.track.kind === 'video' && t.currentDirection !== 'stopped').map((t) => t.sender);
    const active = videoSenders.some((sender) => sender.getParameters().encodings.every((encoding) => encoding.active !== false));
    return { audio, video: (video || screen !== null) && active };
  }

  /** Both certificates of the connection, from the descriptions DTLS checked them against. */
  private fingerprintsWith(id: ParticipantId): Fingerprints | null {
    const connection = this.mesh?.connectionTo(id);
    const mine = connection?.localDescription && fingerprintOf(connection.localDescription.sdp);
    const theirs = connection?.remoteDescription && fingerprintOf(connection.remoteDescription.sdp);
    return mine && theirs ? { mine, theirs } : null;
  }

  private onVerified(id: ParticipantId, result: VerifyResult, fingerprints: Fingerprints): void {
    const participant = this.current.participants.find((p) => p.id === id);
    if (!participant) return;
    if (!result.ok) {
      this.patchParticipant(id, { safety: { state: 'failed', reason: result.reason } });
      return;
    }
    this.patchParticipant(id, {
      safety: {
        state: 'ready',
        code: result.code,
        theirFingerprint: fingerprints.theirs,
        verified: this.contacts.isVerified(fingerprints.theirs),
        changedSinceVerified: this.contacts.changedSinceVerified(participant.name, fingerprints.theirs),
      },
    });
  }

  private announceMedia(to?: ParticipantId): void {
    const message: PeerMessage = { type: 'media', audio: this.current.local.audio, video: this.current.local.video };
    if (!to) return this.mesh?.broadcast(message);
    this.mesh?.send(to, message);
    // Someone new (or reconnected) also learns of a shared screen and a raised hand.
    if (this.current.local.screen) this.mesh?.send(to, { type: 'screen', sharing: true });
    if (this.current.local.hand) this.mesh?.send(to, { type: 'hand', raised: true });
  }

  private useIceServers(iceServers: IceServer[]): void {
    this.mesh?.setIceServers(iceServers);
    this.scheduleCredentialRefresh(iceServers);
  }

  /** Asks for fresh relay credentials before these expire; while the server is away, asks again later. */
  private scheduleCredentialRefresh(iceServers: IceServer[]): void {
    clearTimeout(this.credentialTimer);
    const delay = refreshDelayMs(iceServers, Date.now());
    if (delay === null) return;
    const ask = () => {
      if (!this.mesh) return;
      if (this.current.serverConnected) this.signalling?.send({ type: 'ice-servers' });
      this.credentialTimer = setTimeout(ask, MIN_REFRESH_MS);
    };
    this.credentialTimer = setTimeout(ask, delay);
  }

  private scheduleSpeakerReading(): void {
    const { min, max } = SPEAKER_POLL_MS;
    this.speakerTimer = setTimeout(() => {
      if (!this.mesh) return;
      this.readSpeaker();
      this.scheduleSpeakerReading();
    }, min + Math.random() * (max - min));
  }

  private readSpeaker(): void {
    if (!this.mesh) return;
    const levels = this.mesh.audioLevels();
    // A muted participant's silence is not a reading; someone who says they are muted is never highlighted.
    for (const p of this.current.participants) if (!p.audio || p.connection !== 'connected') levels.delete(p.id);
    const speaker = this.speakers.update(levels, Date.now());
    if (speaker !== this.current.activeSpeaker) this.update({ activeSpeaker: speaker });
  }

  private onServerClosed(code: number): void {
    if (this.current.phase === 'joining' || this.current.phase === 'waiting') {
      this.end('failed', code === CloseCode.VersionMismatch ? 'version-mismatch' : 'unreachable');
      return;
    }
    if (this.current.phase !== 'joined') return;
    // Peer connections do not need the server: the call goes on while we reconnect.
    this.signalling = null;
    this.update({ serverConnected: false });
    this.rejoining = null;
    if (code === CloseCode.VersionMismatch || code === CloseCode.RateLimited) return;
    // 1001: the server is shutting down on purpose (a restart): come back soon, from the first step.
    if (code === CloseCode.GoingAway) this.reconnectAttempts = 0;
    // Jittered exponential backoff, 0.5 s doubling to at most 5 s (then 2.5–5 s apart, so a
    // restarted server is not stampeded and a call is back in the meeting within ~5 s of it).
    const delay = Math.min(5_000, 500 * 2 ** Math.min(this.reconnectAttempts, 10)) * (0.5 + Math.random() / 2);
    this.reconnectAttempts++;
    this.reconnectTimer = setTimeout(() => {
      if (this.current.phase === 'joined' && !this.signalling) this.connect();
    }, delay);
  }

  private patchParticipant(id: ParticipantId, patch: Partial<RemoteParticipant>): void {
    this.update({ participants: this.current.participants.map((p) => (p.id === id ? { ...p, ...patch } : p)) });
  }

  private update(patch: Partial<CallState>): void {
    this.current = { ...this.current, ...patch };
    this.listeners.forEach((listener) => listener(this.current));
  }
}

// One meeting as seen from this browser: signalling, the mesh and the local media, and the
// state the UI renders. No DOM here beyond WebRTC and WebSocket.

import type { ErrorCode, Participant, ParticipantId, ServerMessage } from '../../signal/protocol.js';
import { verifiedContacts, type VerifiedContacts } from './certificate-store.js';
import type { VerifyFailure, VerifyResult } from './commit-reveal.js';
import { connectionPath, type ConnectionPath } from './connection-path.js';
import { encryptionStatus, type EncryptionStatus } from './encryption-status.js';
import { Mesh, type ConnectionState } from './mesh.js';
import type { PeerMessage } from './peer-messages.js';
import { fingerprintOf, type SafetyCode } from './safety-number.js';
import { SignallingClient } from './signalling.js';
import { Verifications, type Fingerprints } from './verifications.js';

export interface RemoteParticipant {
  id: ParticipantId;
  name: string;
  stream: MediaStream | null;
  /** What the participant says about its own microphone and camera (over the data channel). */
  audio: boolean;
  video: boolean;
  connection: ConnectionState;
  /** Direct or through the relay, from the connection's own statistics; null until known. */
  path: ConnectionPath | null;
  encryption: EncryptionStatus | null;
  safety: Safety;
}

/** The safety number of the pair (this browser, that participant), from the commit-then-reveal exchange. */
export type Safety =
  | { state: 'pending' }
  | { state: 'ready'; code: SafetyCode; theirFingerprint: string; verified: boolean; changedSinceVerified: boolean }
  | { state: 'failed'; reason: VerifyFailure };

export type CallError = ErrorCode | 'unreachable';

export interface CallState {
  phase: 'joining' | 'joined' | 'left' | 'failed';
  room: string;
  you: ParticipantId | null;
  moderator: ParticipantId | null;
  /** Remote participants in order of joining. */
  participants: RemoteParticipant[];
  local: { stream: MediaStream | null; audio: boolean; video: boolean };
  /** False while the signalling server is unreachable; running calls go on regardless. */
  serverConnected: boolean;
  /** Whether the server offered a TURN relay for this call. */
  relayAvailable: boolean;
  relayOnly: boolean;
  error: CallError | null;
}

export interface CallOptions {
  url: string;
  room: string;
  name: string;
  stream: MediaStream | null;
  relayOnly: boolean;
  /** This browser's persistent DTLS certificate; null lets the browser make a throwaway one. */
  certificate?: RTCCertificate | null;
  /** Where verified contacts are remembered; localStorage by default. */
  contacts?: VerifiedContacts;
}

/** How often connection statistics are re-read: ICE may move a pair from direct to relayed. */
const STATS_POLL_MS = 3000;

export class Call {
  private current: CallState;
  private readonly listeners = new Set<(state: CallState) => void>();
  private signalling: SignallingClient | null = null;
  private mesh: Mesh | null = null;
  private verifications: Verifications | null = null;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
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
      local: { stream, audio: Boolean(stream?.getAudioTracks().length), video: Boolean(stream?.getVideoTracks().length) },
      serverConnected: false,
      relayAvailable: false,
      relayOnly: options.relayOnly,
      error: null,
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
    this.signalling = new SignallingClient(this.options.url, {
      onMessage: (message) => this.onServerMessage(message),
      onClose: (code) => this.onServerClosed(code),
    });
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

  hasTrack(kind: 'audio' | 'video'): boolean {
    return Boolean(this.options.stream?.getTracks().some((track) => track.kind === kind));
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
    clearInterval(this.statsTimer);
    this.signalling?.close();
    this.signalling = null;
    this.mesh?.destroy();
    this.mesh = null;
    this.update({ phase, error, participants: [], serverConnected: false });
  }

  private onServerMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        this.update({ serverConnected: true, you: message.you });
        this.signalling?.send({ type: 'join', room: this.options.room, name: this.options.name });
        return;
      case 'joined':
        this.onJoined(message);
        return;
      case 'participant-joined':
        this.addParticipant(message.participant, false);
        return;
      case 'participant-left':
        this.mesh?.remove(message.id);
        this.verifications?.forget(message.id);
        this.update({ participants: this.current.participants.filter((p) => p.id !== message.id) });
        return;
      case 'moderator-changed':
        this.update({ moderator: message.moderator });
        return;
      case 'signal':
        this.mesh?.signal(message.from, message.data);
        return;
      case 'pong':
        return;
      case 'error':
        // Before joining, any refusal ends the attempt; inside the meeting errors are about single messages.
        if (this.current.phase === 'joining' || message.code === 'version-mismatch') this.end('failed', message.code);
        else console.warn(`server: ${message.code}: ${message.message}`);
        return;
    }
  }

  private onJoined({ you, participants, moderator, iceServers }: Extract<ServerMessage, { type: 'joined' }>): void {
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
          this.patchParticipant(of, { connection });
          if (connection === 'connected') {
            this.announceMedia(of);
            void this.verifications?.begin(of);
            void this.readStats();
          } else {
            this.verifications?.forget(of);
          }
        },
        message: (from, message) => this.onPeerMessage(from, message),
      },
    });
    const relayAvailable = iceServers.some((server) => server.urls.some((url) => /^turns?:/.test(url)));
    this.update({ phase: 'joined', you, moderator, relayAvailable });
    this.statsTimer = setInterval(() => void this.readStats(), STATS_POLL_MS);
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
    };
    this.update({ participants: [...this.current.participants, remote] });
    this.mesh?.connect(participant.id, weOffer);
  }

  private onPeerMessage(from: ParticipantId, message: PeerMessage): void {
    switch (message.type) {
      case 'media':
        this.patchParticipant(from, { audio: message.audio, video: message.video });
        return;
      case 'verify-commit':
      case 'verify-reveal':
        void this.verifications?.receive(from, message);
        return;
    }
  }

  private async readStats(): Promise<void> {
    for (const participant of this.current.participants) {
      const connection = this.mesh?.connectionTo(participant.id);
      if (!connection || participant.connection !== 'connected') continue;
      const stats = [...(await connection.getStats()).values()] as Array<Record<string, unknown>>;
      const path = connectionPath(stats);
      const encryption = encryptionStatus(stats);
      const known = this.current.participants.find((p) => p.id === participant.id);
      if (!known) continue;
      if (path && (path.kind !== known.path?.kind || path.protocol !== known.path.protocol)) this.patchParticipant(participant.id, { path });
      if (JSON.stringify(encryption) !== JSON.stringify(known.encryption)) this.patchParticipant(participant.id, { encryption });
    }
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
    if (to) this.mesh?.send(to, message);
    else this.mesh?.broadcast(message);
  }

  private onServerClosed(code: number): void {
    if (this.current.phase === 'joining') {
      this.end('failed', code === 4001 ? 'version-mismatch' : 'unreachable');
      return;
    }
    // Peer connections do not need the server: the call goes on; reconnecting comes with resume tokens.
    this.signalling = null;
    this.update({ serverConnected: false });
  }

  private patchParticipant(id: ParticipantId, patch: Partial<RemoteParticipant>): void {
    this.update({ participants: this.current.participants.map((p) => (p.id === id ? { ...p, ...patch } : p)) });
  }

  private update(patch: Partial<CallState>): void {
    this.current = { ...this.current, ...patch };
    this.listeners.forEach((listener) => listener(this.current));
  }
}

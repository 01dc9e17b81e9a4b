// What the UI renders of a meeting: one immutable CallState, replaced on every change, and the
// selectors the UI and the call engine share.

import type { ErrorCode, Participant, ParticipantId, RoomSettings } from '../../signal/protocol.js';
import type { ChatMessage } from './chat.js';
import type { ConnectionState } from './connection/mesh.js';
import type { ConnectionPath } from './quality/connection-path.js';
import type { EncryptionStatus } from './quality/encryption-status.js';
import type { ReceptionProblem } from './quality/reception-watch.js';
import type { VerifyFailure } from './safety/commit-reveal.js';
import type { SafetyCode } from './safety/safety-number.js';

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
  problem: ReceptionProblem | null;
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

export function initialState(room: string, stream: MediaStream | null, relayOnly: boolean): CallState {
  return {
    phase: 'joining',
    room,
    you: null,
    moderator: null,
    participants: [],
    local: { stream, audio: Boolean(stream?.getAudioTracks().length), video: Boolean(stream?.getVideoTracks().length), screen: null, hand: false },
    chat: [],
    activeSpeaker: null,
    weakUplink: false,
    serverConnected: false,
    relayAvailable: false,
    relayOnly,
    error: null,
    settings: { locked: false, lobby: false, hasPassword: false },
    lobby: [],
    notice: null,
    password: null,
  };
}

export function newParticipant(participant: Participant): RemoteParticipant {
  return { ...participant, stream: null, audio: true, video: true, connection: 'connecting', path: null, encryption: null, safety: { state: 'pending' }, screen: false, hand: null, problem: null };
}

export function isModerator(state: Pick<CallState, 'you' | 'moderator'>): boolean {
  return state.you !== null && state.you === state.moderator;
}

export function participantOf(state: CallState, id: ParticipantId): RemoteParticipant | undefined {
  return state.participants.find((p) => p.id === id);
}

/** Holds the current state; every change is a new object, told to every subscriber. */
export class CallStore {
  #current: CallState;
  readonly #listeners = new Set<(state: CallState) => void>();

  constructor(initial: CallState) {
    this.#current = initial;
  }

  get state(): CallState {
    return this.#current;
  }

  subscribe(listener: (state: CallState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  update(patch: Partial<CallState>): void {
    this.#current = { ...this.#current, ...patch };
    this.#listeners.forEach((listener) => listener(this.#current));
  }

  patchParticipant(id: ParticipantId, patch: Partial<RemoteParticipant>): void {
    this.update({ participants: this.#current.participants.map((p) => (p.id === id ? { ...p, ...patch } : p)) });
  }
}

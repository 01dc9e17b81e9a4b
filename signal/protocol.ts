// The signalling protocol: every message between browser and server, and its runtime validation.
// Imported by the server and the client bundle alike, so it must stay dependency-free and small.

import { normalizeDisplayName, normalizeRoomName } from './names.js';

/** Bumped on every incompatible change; a client from an older cached build is told to reload. */
export const PROTOCOL_VERSION = 1;

/**
 * Participant ids and resume tokens (issue 5).
 *
 * The server greets every socket with a resume token: 144 random bits, sent to that browser only.
 * The participant id is derived from it (the first 16 base64url characters of SHA-256(token),
 * see signal/identity.ts), so an id is *self-certifying*: whoever shows the token owns the id,
 * even to a restarted server that has forgotten everything. Knowing an id (every member of the
 * meeting does) does not give the token. Hence:
 * - Back within the seat grace period (`hello{resumeToken}`): `welcome{resumed: true}`, same seat.
 * - Back to a server that does not know the token (it restarted): the server adopts the token
 *   unless its id is in use, so `welcome{you}` is the old id with `resumed: false`. The browser
 *   then joins with `rejoin` and keeps its peer connections; a browser whose id did come back
 *   different (token refused) joins afresh and reconnects its mesh.
 * This is simpler than letting a client propose an id (which the server could not check) or
 * mapping old ids to new ones (which every peer would have to learn).
 */
export type ParticipantId = string;

/** A resume token a client shows must be at least this long (128 bits in base64url) to be adopted. */
export const MIN_RESUME_TOKEN_LENGTH = 22;

/**
 * Sent with `join` by a browser that was in the meeting on a server that has since lost its
 * state: `participants` are the ids it is still connected to. In a meeting that is being rebuilt
 * (created by a rejoin less than a minute ago) a rejoiner named by a member already back passes
 * the password, lock and lobby: ids are self-certifying, so the vouch is for that very person.
 */
export interface Rejoin {
  participants: ParticipantId[];
}
export const MAX_REJOIN_PARTICIPANTS = 32;

export interface Participant {
  id: ParticipantId;
  name: string;
  /** Joined without video because the meeting was full for video senders (see RoomsOptions.audioOnlyCapacity). */
  audioOnly?: true;
}

/** What simple-peer emits on 'signal' and accepts in signal(): SDP, trickled candidates, renegotiation. */
export type SignalData =
  | { type: 'offer' | 'answer'; sdp: string }
  | { type: 'candidate'; candidate: IceCandidate }
  | { type: 'renegotiate'; renegotiate: true }
  /** Not simple-peer's: asks the side that sent the offers to restart ICE (our path to it broke). */
  | { type: 'restart-ice' }
  /**
   * simple-peer's own, sent only as `addTransceiver(kind)` without init (Treff never calls
   * addTransceiver itself): an `init` a client sends is dropped, so no nested value from a client
   * is ever relayed (an 8,000-deep array in it overflowed JSON.stringify, issue 11).
   */
  | { type: 'transceiverRequest'; transceiverRequest: { kind: 'audio' | 'video' } };

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export type IceServer = { urls: string[]; username?: string; credential?: string };

/** What everyone in a meeting may know about its rules (never the password itself). */
export interface RoomSettings {
  locked: boolean;
  lobby: boolean;
  hasPassword: boolean;
}

export const MAX_PASSWORD_LENGTH = 128;
/**
 * Shortest meeting password the server accepts (SECURITY.md, "Guessing"): with the per-meeting
 * budget (30 guesses per 10 minutes, 4,320 a day however many addresses guess), 8 random
 * characters outlast any meeting by far.
 */
export const MIN_PASSWORD_LENGTH = 8;

/** Close codes sent with the WebSocket close frame. 1001 is the standard "going away". */
export const CloseCode = {
  GoingAway: 1001,
  /** Handling a message failed in a way the protocol does not describe: only this socket is closed. */
  InternalError: 1011,
  VersionMismatch: 4001,
  RateLimited: 4008,
  TooManyConnections: 4029,
  /**
   * This node does not (or no longer) hold the meeting: another node does, or this one is
   * draining. The browser reconnects at once (the load balancer routes it to the right node)
   * and resumes, keeping its peer connections (issue 15).
   */
  Moved: 4010,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Someone waiting to be let in, as the moderator sees them. passwordUnchecked: password guessing
 * against this meeting is throttled (it is under attack), so the server did not check this
 * person's password and the moderator decides instead (issue 11).
 */
export interface Knocker extends Participant {
  passwordUnchecked?: true;
}

// Client → server
export type ClientMessage =
  | { type: 'hello'; version: number; resumeToken?: string }
  /** audioOnly: the joiner sends no video, and so may take one of the seats kept for listeners once video is full. */
  | { type: 'join'; room: string; name: string; password?: string; moderatorKey?: string; rejoin?: Rejoin; audioOnly?: true }
  | { type: 'signal'; to: ParticipantId; data: SignalData }
  /**
   * My peer connection to this participant is down. If their connection to the server is gone
   * too (their seat is held), the server lets the seat go now: a crashed browser leaves promptly.
   * Ignored otherwise.
   */
  | { type: 'peer-lost'; id: ParticipantId }
  | { type: 'leave' }
  | { type: 'ping' }
  /** Fresh relay credentials, asked for before the ones from `joined` expire (a long meeting's later ICE restarts need them). */
  | { type: 'ice-servers' }
  // Moderator actions: the server checks the sender is the moderator.
  | { type: 'set-password'; password: string | null }
  | { type: 'make-moderator'; id: ParticipantId }
  | { type: 'remove'; id: ParticipantId }
  | { type: 'mute-all' }
  | { type: 'lock'; locked: boolean }
  | { type: 'lobby'; enabled: boolean }
  | { type: 'admit'; id: ParticipantId }
  | { type: 'decline'; id: ParticipantId };

// Server → client.
// Who offers: the newcomer, to everyone listed in its `joined`; those present answer the offer of
// the participant announced by `participant-joined`. Both sides know their role, so offers never collide.
export type ServerMessage =
  /** resumed: the resume token gave back the seat (same id, same meeting); nothing else changes. */
  | { type: 'welcome'; you: ParticipantId; resumeToken: string; resumed: boolean }
  | {
      type: 'joined';
      room: string;
      you: ParticipantId;
      participants: Participant[];
      moderator: ParticipantId;
      iceServers: IceServer[];
      settings: RoomSettings;
      /** Only to the moderator: proves the role after a reload of the same tab. */
      moderatorKey?: string;
      /** The operator's cap on what one participant uploads in total, shared out across the others. */
      uplinkBudgetKbps?: number;
    }
  | { type: 'participant-joined'; participant: Participant }
  | { type: 'participant-left'; id: ParticipantId }
  | { type: 'moderator-changed'; moderator: ParticipantId }
  /** To a new moderator only. */
  | { type: 'moderator-key'; key: string }
  | { type: 'room-settings'; settings: RoomSettings }
  /** To someone who knocked on a meeting with a lobby: wait to be admitted. */
  | { type: 'lobby-waiting' }
  /** To the moderator: someone waits in the lobby / gave up waiting. */
  | { type: 'knocking'; participant: Knocker }
  | { type: 'knock-withdrawn'; id: ParticipantId }
  /** To a participant the moderator removed. */
  | { type: 'removed' }
  /** The moderator asks everyone to mute. */
  | { type: 'mute-request' }
  | { type: 'signal'; from: ParticipantId; data: SignalData }
  | { type: 'pong' }
  | { type: 'ice-servers'; iceServers: IceServer[] }
  | { type: 'error'; code: ErrorCode; message: string };

/** Every error a client can cause, with a stable code the UI translates. */
export const ERROR_CODES = [
  'bad-message', // not JSON, unknown type, or a field of the wrong shape
  'version-mismatch', // the client is from another build: reload
  'hello-required', // anything sent before hello
  'invalid-room-name',
  'invalid-name',
  'already-in-room',
  'not-in-room',
  'room-full',
  'room-full-video', // no seat for another video sender; joining audio-only is possible
  'unknown-participant', // signal addressed to someone not in the sender's room
  'rate-limited',
  'password-required', // the meeting has a password and none was given
  'wrong-password',
  'too-many-attempts', // password guessing throttled
  'room-locked',
  'not-moderator', // a moderator action from someone who is not
  'declined', // the moderator did not admit you from the lobby
  'invalid-password', // a password the moderator tried to set is too short or too long
  'removed-recently', // the moderator removed you (or someone at your address) from this meeting a few minutes ago
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

// ---------------------------------------------------------------------------
// Validation. Each parser takes untrusted input and returns a typed value or throws ProtocolError.
// Every value is rebuilt from checked strings, numbers and booleans, never passed through: no
// depth or size a client chose reaches JSON.stringify when the server relays it.

const MAX_ID_LENGTH = 64;
const MAX_SDP_LENGTH = 48 * 1024;
const MAX_CANDIDATE_LENGTH = 1024;

type Json = Record<string, unknown>;

function fail(message: string): never {
  throw new ProtocolError('bad-message', message);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(obj: Json, key: string, max: number): string {
  const value = obj[key];
  if (typeof value !== 'string') fail(`"${key}" must be a string`);
  if (value.length > max) fail(`"${key}" is longer than ${max} characters`);
  return value;
}

function optionalNullable<T>(obj: Json, key: string, read: (obj: Json, key: string) => T): T | null | undefined {
  const value = obj[key];
  return value === undefined || value === null ? (value as null | undefined) : read(obj, key);
}

/** A non-empty base64url string of at most 64 characters: the shape of ids, resume tokens and moderator keys. */
function base64url(obj: Json, key: string, what: string): string {
  const value = str(obj, key, MAX_ID_LENGTH);
  if (!/^[A-Za-z0-9_-]+$/.test(value)) fail(`"${key}" is not ${what}`);
  return value;
}

const participantId = (obj: Json, key: string): ParticipantId => base64url(obj, key, 'a participant id');
const resumeToken = (obj: Json, key: string): string => base64url(obj, key, 'a resume token');
const moderatorKey = (obj: Json, key: string): string => base64url(obj, key, 'a moderator key');

function bool(obj: Json, key: string): boolean {
  const value = obj[key];
  if (typeof value !== 'boolean') fail(`"${key}" must be true or false`);
  return value;
}

function int(obj: Json, key: string, min: number, max: number): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`"${key}" must be an integer from ${min} to ${max}`);
  }
  return value;
}

function parseJson(raw: unknown): Json {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      fail('message is not valid JSON');
    }
  }
  if (!isObject(value)) fail('message must be a JSON object');
  if (typeof value.type !== 'string') fail('message has no "type"');
  return value;
}

export function parseSignalData(raw: unknown): SignalData {
  if (!isObject(raw)) fail('"data" must be an object');
  const type = raw.type as SignalData['type'];
  switch (type) {
    case 'offer':
    case 'answer':
      return { type, sdp: str(raw, 'sdp', MAX_SDP_LENGTH) };
    case 'candidate': {
      const c = raw.candidate;
      if (!isObject(c)) fail('"candidate" must be an object');
      const candidate: IceCandidate = { candidate: str(c, 'candidate', MAX_CANDIDATE_LENGTH) };
      const sdpMid = optionalNullable(c, 'sdpMid', (o, k) => str(o, k, MAX_ID_LENGTH));
      const sdpMLineIndex = optionalNullable(c, 'sdpMLineIndex', (o, k) => int(o, k, 0, 1024));
      const usernameFragment = optionalNullable(c, 'usernameFragment', (o, k) => str(o, k, 256));
      if (sdpMid !== undefined) candidate.sdpMid = sdpMid;
      if (sdpMLineIndex !== undefined) candidate.sdpMLineIndex = sdpMLineIndex;
      if (usernameFragment !== undefined) candidate.usernameFragment = usernameFragment;
      return { type: 'candidate', candidate };
    }
    case 'renegotiate':
      if (raw.renegotiate !== true) fail('"renegotiate" must be true');
      return { type: 'renegotiate', renegotiate: true };
    case 'restart-ice':
      return { type: 'restart-ice' };
    case 'transceiverRequest': {
      const request = raw.transceiverRequest;
      if (!isObject(request) || (request.kind !== 'audio' && request.kind !== 'video')) {
        fail('"transceiverRequest.kind" must be "audio" or "video"');
      }
      // `init` is dropped (see SignalData): only the kind is passed on.
      return { type: 'transceiverRequest', transceiverRequest: { kind: request.kind } };
    }
    default:
      return unknownSignalType(type);
  }
}

// As unknownType below: the compiler rejects a switch that forgets a kind of signal data.
function unknownSignalType(_type: never): never {
  fail('unknown signal data type');
}

/** Validates a message from a browser. Accepts a JSON string or an already parsed value. */
export function parseClientMessage(raw: unknown): ClientMessage {
  const msg = parseJson(raw);
  const type = msg.type as ClientMessage['type'];
  switch (type) {
    case 'hello': {
      const hello: ClientMessage = { type, version: int(msg, 'version', 0, 1_000_000) };
      if (msg.resumeToken !== undefined) hello.resumeToken = resumeToken(msg, 'resumeToken');
      return hello;
    }
    case 'join': {
      // Generous limits here: the name rules below give the precise error.
      const room = normalizeRoomName(str(msg, 'room', 1024));
      if (!room.ok) throw new ProtocolError('invalid-room-name', room.reason);
      const name = normalizeDisplayName(str(msg, 'name', 1024));
      if (!name.ok) throw new ProtocolError('invalid-name', name.reason);
      const join: ClientMessage = { type, room: room.value, name: name.value };
      if (msg.password !== undefined) join.password = str(msg, 'password', MAX_PASSWORD_LENGTH);
      if (msg.moderatorKey !== undefined) join.moderatorKey = str(msg, 'moderatorKey', MAX_ID_LENGTH);
      if (msg.rejoin !== undefined) join.rejoin = rejoin(msg.rejoin);
      if (msg.audioOnly !== undefined && bool(msg, 'audioOnly')) join.audioOnly = true;
      return join;
    }
    case 'signal':
      return { type, to: participantId(msg, 'to'), data: parseSignalData(msg.data) };
    case 'leave':
    case 'ping':
    case 'mute-all':
    case 'ice-servers':
      return { type };
    case 'set-password': {
      if (msg.password === null) return { type, password: null };
      const password = str(msg, 'password', 1024);
      if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
        throw new ProtocolError('invalid-password', `a password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
      }
      return { type, password };
    }
    case 'make-moderator':
    case 'remove':
    case 'admit':
    case 'decline':
    case 'peer-lost':
      return { type, id: participantId(msg, 'id') };
    case 'lock':
      return { type, locked: bool(msg, 'locked') };
    case 'lobby':
      return { type, enabled: bool(msg, 'enabled') };
    default:
      return unknownType(type);
  }
}

function rejoin(raw: unknown): Rejoin {
  if (!isObject(raw) || !Array.isArray(raw.participants)) fail('"rejoin.participants" must be an array');
  if (raw.participants.length > MAX_REJOIN_PARTICIPANTS) fail(`"rejoin.participants" has more than ${MAX_REJOIN_PARTICIPANTS} ids`);
  return { participants: raw.participants.map((id) => participantId({ id }, 'id')) };
}

function roomSettings(raw: unknown): RoomSettings {
  if (!isObject(raw)) fail('"settings" must be an object');
  return { locked: bool(raw, 'locked'), lobby: bool(raw, 'lobby'), hasPassword: bool(raw, 'hasPassword') };
}

function participant(raw: unknown): Participant {
  if (!isObject(raw)) fail('participant must be an object');
  const result: Participant = { id: participantId(raw, 'id'), name: str(raw, 'name', 256) };
  if (raw.audioOnly !== undefined && bool(raw, 'audioOnly')) result.audioOnly = true;
  return result;
}

function knocker(raw: unknown): Knocker {
  const result: Knocker = participant(raw);
  if (isObject(raw) && raw.passwordUnchecked !== undefined && bool(raw, 'passwordUnchecked')) result.passwordUnchecked = true;
  return result;
}

function iceServer(raw: unknown): IceServer {
  if (!isObject(raw) || !Array.isArray(raw.urls) || !raw.urls.every((u) => typeof u === 'string')) {
    fail('ice server needs "urls"');
  }
  const server: IceServer = { urls: raw.urls as string[] };
  if (typeof raw.username === 'string') server.username = raw.username;
  if (typeof raw.credential === 'string') server.credential = raw.credential;
  return server;
}

function list<T>(raw: unknown, key: string, item: (raw: unknown) => T): T[] {
  if (!Array.isArray(raw)) fail(`"${key}" must be an array`);
  return raw.map(item);
}

/** Validates a message from the server (run by the client). */
export function parseServerMessage(raw: unknown): ServerMessage {
  const msg = parseJson(raw);
  const type = msg.type as ServerMessage['type'];
  switch (type) {
    case 'welcome':
      return { type, you: participantId(msg, 'you'), resumeToken: resumeToken(msg, 'resumeToken'), resumed: bool(msg, 'resumed') };
    case 'joined': {
      const joined: ServerMessage = {
        type,
        room: str(msg, 'room', 256),
        you: participantId(msg, 'you'),
        participants: list(msg.participants, 'participants', participant),
        moderator: participantId(msg, 'moderator'),
        iceServers: list(msg.iceServers, 'iceServers', iceServer),
        settings: roomSettings(msg.settings),
      };
      if (msg.moderatorKey !== undefined) joined.moderatorKey = moderatorKey(msg, 'moderatorKey');
      if (msg.uplinkBudgetKbps !== undefined) joined.uplinkBudgetKbps = int(msg, 'uplinkBudgetKbps', 1, 1_000_000);
      return joined;
    }
    case 'moderator-key':
      return { type, key: moderatorKey(msg, 'key') };
    case 'room-settings':
      return { type, settings: roomSettings(msg.settings) };
    case 'knocking':
      return { type, participant: knocker(msg.participant) };
    case 'knock-withdrawn':
      return { type, id: participantId(msg, 'id') };
    case 'lobby-waiting':
    case 'removed':
    case 'mute-request':
      return { type };
    case 'participant-joined':
      return { type, participant: participant(msg.participant) };
    case 'participant-left':
      return { type, id: participantId(msg, 'id') };
    case 'moderator-changed':
      return { type, moderator: participantId(msg, 'moderator') };
    case 'signal':
      return { type, from: participantId(msg, 'from'), data: parseSignalData(msg.data) };
    case 'pong':
      return { type };
    case 'ice-servers':
      return { type, iceServers: list(msg.iceServers, 'iceServers', iceServer) };
    case 'error': {
      const code = str(msg, 'code', 64);
      if (!(ERROR_CODES as readonly string[]).includes(code)) fail(`unknown error code "${code}"`);
      return { type, code: code as ErrorCode, message: str(msg, 'message', 1024) };
    }
    default:
      return unknownType(type);
  }
}

// The `never` parameter makes the compiler reject a switch above that forgets a message type.
function unknownType(type: never): never {
  // Echoed back in the error: only a bounded, harmless part of what the client sent.
  fail(`unknown message type "${String(type).slice(0, 40).replace(/[^\w-]/g, '?')}"`);
}

// A structure-aware fuzz of the signalling protocol (issue 11), shared by the CI test
// (test/integration/fuzz-structured.test.ts), the browser check (test/browser/after-fuzz.test.ts)
// and the benchmark (scripts/bench-fuzz.ts).
//
// 1. Arbitraries (fast-check) for every ClientMessage type in signal/protocol.ts, valid and mutated:
//    deep nesting (thousands deep) in any field, huge and odd strings, wrong types, extra and
//    prototype keys, unicode names and rooms, odd numbers. Fields that name a participant, a meeting,
//    a password, a resume token or a moderator key are resolved when the message is sent, from what
//    the socket has learnt so far (its peers, its meeting's password...): so signals reach real
//    peers and moderator actions come from real moderators, and get past validation into the rooms.
// 2. Scenarios: sequences of steps over a few sockets (send, close, terminate, reconnect with the
//    resume token, rejoin, password joins, moderator actions, peer-lost, leave, the close/resume race
//    during a password check, floods, a crowd from one address), run by many lanes at once, in
//    their own meetings and in shared ones.
// 3. A driver that runs them against the real server as its own process and checks as it goes:
//    every message the protocol's own parser refuses got an error with its code back, every server
//    message is one the client parser accepts, every socket the server closed has a close code.
//
// Everything is generated from one seed (TREFF_FUZZ_SEED, printed in every failure): lane l's
// scenario k comes from seed + l * 1,000,003 + k, so `replay` runs one scenario alone.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import WebSocket from 'ws';
import { adoptable, idForToken } from '../../signal/identity.js';
import { ERROR_CODES, PROTOCOL_VERSION, ProtocolError, parseClientMessage, parseServerMessage, type ClientMessage, type ServerMessage } from '../../signal/protocol.js';

/** The default seed: fixed, so CI runs the same messages every time. */
export const DEFAULT_FUZZ_SEED = 20261202;

export function fuzzSeed(): number {
  const text = process.env.TREFF_FUZZ_SEED;
  if (text === undefined || text === '') return DEFAULT_FUZZ_SEED;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`TREFF_FUZZ_SEED must be an integer, got ${JSON.stringify(text)}`);
  return seed;
}

// ---------------------------------------------------------------------------------------------
// 1. Values

/** JSON text put in verbatim: deep values are built as text (a JS value 8,000 deep would overflow the fuzzer's own JSON.stringify), and -0 or 1e400 have no JS value JSON.stringify writes. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify that writes RawJson verbatim and keeps own `__proto__` keys. */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return '[' + value.map((item) => (item === undefined ? 'null' : toJson(item))).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) parts.push(JSON.stringify(key) + ':' + toJson(item));
    }
    return '{' + parts.join(',') + '}';
  }
  return JSON.stringify(value) ?? 'null';
}

/** An object with an own property of any name, `__proto__` included (a literal `{ __proto__: x }` sets the prototype instead). */
function withKey(base: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(base)) Object.defineProperty(copy, k, { value: base[k], enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

export type DeepKind = 'array' | 'object' | 'mixed';
export const DEEP_DEPTHS = [2, 64, 1000, 3000, 8000, 20000] as const;
const deepCache = new Map<string, RawJson>();
/** `[[[…]]]`, `{"a":{"a":…}}` or alternating, `depth` levels: 8,000 deep is 16 KB of array. */
export function deep(kind: DeepKind, depth: number): RawJson {
  const key = `${kind}:${depth}`;
  let value = deepCache.get(key);
  if (!value) {
    const text =
      kind === 'array'
        ? '['.repeat(depth) + ']'.repeat(depth)
        : kind === 'object'
          ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
          : '[{"a":'.repeat(Math.ceil(depth / 2)) + 'null' + '}]'.repeat(Math.ceil(depth / 2));
    deepCache.set(key, (value = new RawJson(text)));
  }
  return value;
}
// Object nesting costs 5 bytes a level: past 8,000 it no longer fits a 64 KB message, which is another test.
const deepValue = fc.tuple(fc.constantFrom<DeepKind>('array', 'object', 'mixed'), fc.constantFrom(...DEEP_DEPTHS)).map(([kind, depth]) => deep(kind, kind === 'array' ? depth : Math.min(depth, 8000)));

const MB = 1024 * 1024;
const HUGE = {
  ascii1MB: 'x'.repeat(MB),
  emoji1MB: '\u{1F600}'.repeat(MB / 4),
  near60KB: 'y'.repeat(60 * 1024),
  surrogates40KB: '\uD800'.repeat(20 * 1024),
  nul2KB: '\u0000'.repeat(2048),
};
/** Strings a parser or a name rule can trip over. */
export const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uDC00y\uD83D',
  '\u202Eevil\u202C',
  '\u200F\u200E\u061C',
  '\uFEFF',
  '\u200B\u200D',
  'e\u0301\u0301\u0301',
  'Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357\u0358',
  '👩‍👩‍👧‍👦',
  'İstanbul',
  'ß',
  'ǅ',
  'ＦＵＬＬ',
  'اجتماع',
  '会議室',
  '\r\n\t',
  '\\u0000',
  '"',
  '</script><script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '${7*7}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'NaN',
  'Infinity',
  '-0',
  '1e308',
  'null',
  'undefined',
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(128),
  'a'.repeat(129),
  'a'.repeat(1024),
  'a'.repeat(1025),
];
const oddString = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(HUGE.nul2KB, HUGE.near60KB, HUGE.surrogates40KB) },
);
/** Numbers JSON can spell but a validator may not expect; some only as text (-0, 1e400, 1.0). */
const oddNumber = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1, 2, 0.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 1_000_001, PROTOCOL_VERSION),
  fc.constantFrom('-0', '1e400', '-1e400', '1.0', '1E0', '0.1e1', '1e-400', '100000000000000000000000').map((text) => new RawJson(text)),
  fc.double().map((n) => (Number.isFinite(n) ? n : 0)),
  fc.integer(),
);
/** A value of the wrong type for whatever field it lands in. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], [1, 'a', null], { length: 1 }, 'NaN', 'Infinity', '-0', '1e308') },
  { weight: 3, arbitrary: oddNumber },
  { weight: 2, arbitrary: oddString },
  { weight: 2, arbitrary: deepValue },
  { weight: 1, arbitrary: fc.constantFrom(new RawJson('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'), new RawJson('{"toString":1,"valueOf":{},"hasOwnProperty":null}')) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export const MEETING_NAMES = ['Fuzz Shared', 'fuzz_shared', '/fuzz-shared', 'FUZZ-SHARED', 'Größe Runde', 'größe-runde', '会議室', 'اجتماع', 'constructor', '__proto__', 'toString'];
export const DISPLAY_NAMES = ['Ada', 'Ünïcödé Ñame', '👩‍💻 Dev', 'أحمد', '王小明', 'İlknur', 'e\u0301', '\u202Eevil', '__proto__', 'constructor', 'x'.repeat(64), 'a'];

// ---------------------------------------------------------------------------------------------
// 2. Messages. A message is built when it is sent, from what its socket knows then.

/** What a socket knows when one of its messages is built. */
export interface FuzzContext {
  self: string | undefined;
  /** Ids in my meeting (from joined / participant-joined / -left). */
  peers: string[];
  /** Ids waiting in my meeting's lobby (from knocking). */
  knocking: string[];
  /** Ids seen anywhere by this lane: other meetings, earlier sockets, ids long gone. */
  knownIds: string[];
  /** The meetings this scenario uses; index 0 is its own. */
  rooms: string[];
  /** The password this scenario set on its meeting, if any. */
  password: string | undefined;
  moderatorKey: string | undefined;
  resumeToken: string | undefined;
  /** Resume tokens of the scenario's other sockets (a takeover attempt, or a tab opened twice). */
  otherTokens: string[];
}

type Field = (ctx: FuzzContext) => unknown;
const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
const always = <T>(value: T): Field => () => value;

const idField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 8, arbitrary: fc.nat().map((n): Field => (ctx) => pick(ctx.peers.filter((id) => id !== ctx.self), n) ?? pick(ctx.knownIds, n) ?? 'nobody') },
  { weight: 2, arbitrary: fc.nat().map((n): Field => (ctx) => pick(ctx.knocking, n) ?? pick(ctx.knownIds, n) ?? 'nobody') },
  { weight: 2, arbitrary: fc.nat().map((n): Field => (ctx) => pick(ctx.knownIds, n) ?? 'nobody') },
  { weight: 1, arbitrary: fc.constant<Field>((ctx) => ctx.self ?? 'me') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', 'A'.repeat(64), 'A'.repeat(65), '-', '_', 'AAAAAAAAAAAAAAAA').map(always) },
  { weight: 1, arbitrary: wrongValue.map(always) },
);
const roomField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Field>((ctx) => ctx.rooms[0]) },
  { weight: 4, arbitrary: fc.nat().map((n): Field => (ctx) => pick(ctx.rooms, n)) },
  { weight: 2, arbitrary: fc.constantFrom(...MEETING_NAMES).map(always) },
  { weight: 1, arbitrary: oddString.map(always) },
  { weight: 1, arbitrary: wrongValue.map(always) },
);
const nameField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...DISPLAY_NAMES).map(always) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 30 }).map(always) },
  { weight: 1, arbitrary: oddString.map(always) },
  { weight: 1, arbitrary: wrongValue.map(always) },
);
const passwordField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Field>((ctx) => ctx.password) },
  { weight: 3, arbitrary: fc.constantFrom('wrong', 'hunter2', 'x'.repeat(128), 'x'.repeat(129)).map(always) },
  { weight: 1, arbitrary: oddString.map(always) },
  { weight: 1, arbitrary: wrongValue.map(always) },
);
const tokenField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Field>((ctx) => ctx.resumeToken) },
  { weight: 2, arbitrary: fc.nat().map((n): Field => (ctx) => pick(ctx.otherTokens, n) ?? ctx.resumeToken) },
  // Adoptable tokens of our own making: what a browser back at a restarted server shows.
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{22,30}$/).map(always) },
  { weight: 1, arbitrary: fc.nat().map((n): Field => (ctx) => pick(ctx.knownIds, n)) },
  { weight: 1, arbitrary: wrongValue.map(always) },
);
const keyField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Field>((ctx) => ctx.moderatorKey) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{44}$/).map(always) },
  { weight: 1, arbitrary: wrongValue.map(always) },
);

/** Optional: the field is left out when the builder gives undefined. */
const optional = (field: fc.Arbitrary<Field>, weightPresent = 1, weightAbsent = 2): fc.Arbitrary<Field | undefined> =>
  fc.oneof({ weight: weightPresent, arbitrary: field }, { weight: weightAbsent, arbitrary: fc.constant(undefined) });

const transceiverInit: fc.Arbitrary<Field> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>({ direction: 'sendrecv' }, { direction: 'recvonly', streams: [] }, { sendEncodings: [{ rid: 'h', maxBitrate: 900000 }, { rid: 'l', scaleResolutionDownBy: 4 }] }).map(always) },
  // Validation takes any object here: thousands deep must not take the server down when it is relayed.
  { weight: 3, arbitrary: deepValue.map((value): Field => () => ({ sendEncodings: value })) },
  { weight: 1, arbitrary: deepValue.filter((value) => value.text.startsWith('{')).map(always) },
  { weight: 1, arbitrary: wrongValue.map((value): Field => () => withKey({}, '__proto__', value)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value): Field => () => ({ extra: value })) },
);
const sdpText = fc.oneof(
  { weight: 6, arbitrary: fc.constant('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA:BB\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n') },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: fc.constantFrom('s'.repeat(48 * 1024), 's'.repeat(48 * 1024 + 1)) },
);
const signalDataField: fc.Arbitrary<Field> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('offer', 'answer'), sdpText).map(([type, sdp]) => always({ type, sdp })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ candidate: fc.oneof(fc.constant('candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host'), oddString), sdpMid: fc.option(fc.constantFrom('0', '1', 'audio')), sdpMLineIndex: fc.option(fc.oneof(fc.nat({ max: 3 }), oddNumber)), usernameFragment: fc.option(fc.string({ maxLength: 8 })) }, { requiredKeys: ['candidate'] })
      .map((candidate) => always({ type: 'candidate', candidate })),
  },
  { weight: 1, arbitrary: fc.constant(always({ type: 'renegotiate', renegotiate: true })) },
  { weight: 1, arbitrary: fc.constant(always({ type: 'restart-ice' })) },
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('audio', 'video'), optional(transceiverInit, 4, 1)).map(([kind, init]): Field => (ctx) => ({ type: 'transceiverRequest', transceiverRequest: { kind, init: init?.(ctx) } })) },
);

/** A valid-looking message of each type, its fields resolved at send time. */
export const CLIENT_MESSAGE_FIELDS = {
  hello: fc.record({ version: fc.oneof({ weight: 20, arbitrary: fc.constant(always(PROTOCOL_VERSION)) }, { weight: 1, arbitrary: oddNumber.map(always) }), resumeToken: optional(tokenField) }),
  join: fc.record({ room: roomField, name: nameField, password: optional(passwordField), moderatorKey: optional(keyField, 1, 4), rejoin: optional(fc.nat().map((n): Field => (ctx) => ({ participants: ctx.knownIds.slice(n % Math.max(1, ctx.knownIds.length)).slice(0, 1 + (n % 40)) })), 1, 4), audioOnly: optional(fc.constant(always(true)), 1, 5) }),
  signal: fc.record({ to: idField, data: signalDataField }),
  'peer-lost': fc.record({ id: idField }),
  leave: fc.constant({}),
  ping: fc.constant({}),
  'ice-servers': fc.constant({}),
  'set-password': fc.record({ password: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('s3cret-pass', 'correct horse', 'Ünï 🔑 schloss').map(always) }, { weight: 1, arbitrary: fc.constant(always(null)) }, { weight: 1, arbitrary: passwordField }) }),
  'make-moderator': fc.record({ id: idField }),
  remove: fc.record({ id: idField }),
  'mute-all': fc.constant({}),
  lock: fc.record({ locked: fc.oneof(fc.boolean().map(always), wrongValue.map(always)) }),
  lobby: fc.record({ enabled: fc.oneof(fc.boolean().map(always), wrongValue.map(always)) }),
  admit: fc.record({ id: idField }),
  decline: fc.record({ id: idField }),
} satisfies Record<ClientMessage['type'], fc.Arbitrary<Record<string, Field | undefined>>>;

export type MessageType = keyof typeof CLIENT_MESSAGE_FIELDS;
const MESSAGE_WEIGHTS: Record<MessageType, number> = {
  hello: 1,
  join: 6,
  signal: 14,
  'peer-lost': 2,
  leave: 2,
  ping: 1,
  'ice-servers': 1,
  'set-password': 1,
  'make-moderator': 2,
  remove: 1,
  'mute-all': 1,
  lock: 2,
  lobby: 2,
  admit: 2,
  decline: 1,
};

/** A message as built for one send: its text (or bytes) and what kind of thing it is, for the logs. */
export interface Frame {
  data: string | Buffer;
  /** e.g. "signal", "signal/deep-field", "raw/truncate". */
  label: string;
}
export type FrameBuilder = (ctx: FuzzContext) => Frame;

const resolve = (type: string, fields: Record<string, Field | undefined>, ctx: FuzzContext): Record<string, unknown> => {
  const message: Record<string, unknown> = { type };
  for (const [key, field] of Object.entries(fields)) {
    const value = field?.(ctx);
    if (value !== undefined) message[key] = value;
  }
  return message;
};

type ObjectBuilder = (ctx: FuzzContext) => Record<string, unknown>;
/** Valid-looking messages as objects (deep values stay RawJson: never parsed or walked by the fuzzer). */
const validObject: fc.Arbitrary<ObjectBuilder> = fc.oneof(
  ...(Object.keys(CLIENT_MESSAGE_FIELDS) as MessageType[]).map((type) => ({
    weight: MESSAGE_WEIGHTS[type],
    arbitrary: (CLIENT_MESSAGE_FIELDS[type] as fc.Arbitrary<Record<string, Field | undefined>>).map((fields): ObjectBuilder => (ctx) => resolve(type, fields, ctx)),
  })),
);
export const validMessage: fc.Arbitrary<FrameBuilder> = validObject.map((build): FrameBuilder => (ctx) => {
  const message = build(ctx);
  return { data: toJson(message), label: String(message.type) };
});

type Mutation =
  | { how: 'wrong-type' | 'deep-field' | 'odd-string' | 'huge-string'; at: number; value: unknown }
  | { how: 'extra-key'; key: string; value: unknown }
  | { how: 'drop-key'; at: number }
  | { how: 'proto-wrap' | 'type-variant' | 'as-binary' | 'duplicate-type' | 'nested-message'; at: number }
  | { how: 'truncate' | 'insert' | 'byte-flip'; at: number; junk: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ how: fc.constant('wrong-type' as const), at: fc.nat(), value: wrongValue }) },
  { weight: 4, arbitrary: fc.record({ how: fc.constant('deep-field' as const), at: fc.nat(), value: deepValue }) },
  { weight: 3, arbitrary: fc.record({ how: fc.constant('odd-string' as const), at: fc.nat(), value: oddString }) },
  { weight: 1, arbitrary: fc.record({ how: fc.constant('huge-string' as const), at: fc.nat(), value: fc.oneof({ weight: 6, arbitrary: fc.constant(HUGE.near60KB) }, { weight: 1, arbitrary: fc.constantFrom(HUGE.ascii1MB, HUGE.emoji1MB) }) }) },
  { weight: 3, arbitrary: fc.record({ how: fc.constant('extra-key' as const), key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then', 'id', 'from', 'you', 'moderator', 'participants', 'settings'), fc.string({ maxLength: 10 })), value: wrongValue }) },
  { weight: 2, arbitrary: fc.record({ how: fc.constant('drop-key' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ how: fc.constantFrom('proto-wrap' as const, 'type-variant' as const, 'as-binary' as const, 'duplicate-type' as const, 'nested-message' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ how: fc.constantFrom('truncate' as const, 'insert' as const, 'byte-flip' as const), at: fc.nat(), junk: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('"', '{', ']', '\\', '\u0000', ',', ':')) }) },
);

const TYPE_VARIANTS = ['JOIN', 'Join', 'join ', ' join', 'join\u0000', 'sig nal', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'welcome', 'joined', 'error', 'participant-joined'];

function mutate(message: Record<string, unknown>, m: Mutation): Frame {
  const keys = Object.keys(message).filter((k) => k !== 'type');
  const anyKey = (at: number) => (keys.length === 0 ? 'type' : keys[at % keys.length]!);
  // For signals, half of the field mutations go into data (and its transceiverRequest), where relaying happens.
  const intoData = (at: number, value: unknown): Record<string, unknown> | undefined => {
    const data = message.data as Record<string, unknown> | undefined;
    if (!data || typeof data !== 'object' || data instanceof RawJson || at % 2 === 0) return undefined;
    const inner = data.transceiverRequest as Record<string, unknown> | undefined;
    if (inner && typeof inner === 'object' && !(inner instanceof RawJson)) return { ...message, data: { ...data, transceiverRequest: withKey(inner, (at >> 1) % 3 === 0 ? 'kind' : 'init', value) } };
    const dataKeys = Object.keys(data);
    return { ...message, data: withKey(data, dataKeys[(at >> 1) % dataKeys.length] ?? 'type', value) };
  };
  const label = `${String(message.type)}/${m.how}`;
  switch (m.how) {
    case 'wrong-type':
    case 'deep-field':
    case 'odd-string':
    case 'huge-string':
      return { data: toJson(intoData(m.at, m.value) ?? withKey(message, anyKey(m.at), m.value)), label };
    case 'extra-key':
      return { data: toJson(withKey(message, m.key, m.value)), label };
    case 'drop-key': {
      const copy = { ...message };
      delete copy[Object.keys(message)[m.at % Object.keys(message).length]!];
      return { data: toJson(copy), label };
    }
    case 'proto-wrap':
      return { data: toJson(m.at % 2 ? withKey({}, '__proto__', message) : withKey({ type: message.type }, 'constructor', { prototype: message })), label };
    case 'type-variant':
      return { data: toJson({ ...message, type: TYPE_VARIANTS[m.at % TYPE_VARIANTS.length] }), label };
    case 'as-binary':
      return { data: Buffer.from(toJson(message)), label };
    case 'duplicate-type': {
      const json = toJson(message);
      return { data: `{"type":${JSON.stringify(TYPE_VARIANTS[m.at % TYPE_VARIANTS.length])},${json.slice(1)}`, label };
    }
    case 'nested-message':
      return { data: toJson({ type: 'signal', to: message.to ?? 'x', data: { type: 'transceiverRequest', transceiverRequest: { kind: 'audio', init: { message } } } }), label };
    case 'truncate':
    case 'insert':
    case 'byte-flip': {
      const json = toJson(message);
      const i = m.at % (json.length + 1);
      if (m.how === 'truncate') return { data: json.slice(0, i), label };
      if (m.how === 'insert') return { data: json.slice(0, i) + m.junk + json.slice(i), label };
      const bytes = Buffer.from(json);
      const k = m.at % Math.max(1, bytes.length);
      if (bytes.length > 0) bytes[k] = bytes[k]! ^ (1 << (m.at % 8));
      return { data: bytes, label };
    }
  }
}

export const mutatedMessage: fc.Arbitrary<FrameBuilder> = fc.tuple(validObject, mutation).map(([build, m]): FrameBuilder => (ctx) => mutate(build(ctx), m));

/** Frames that are not the protocol at all. */
const randomFrame: fc.Arbitrary<FrameBuilder> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value): FrameBuilder => () => ({ data: JSON.stringify(value) ?? 'null', label: 'raw/json' })),
  fc.string({ unit: 'binary', maxLength: 100 }).map((text): FrameBuilder => () => ({ data: text, label: 'raw/text' })),
  fc.uint8Array({ maxLength: 200 }).map((bytes): FrameBuilder => () => ({ data: Buffer.from(bytes), label: 'raw/bytes' })),
  deepValue.map((value): FrameBuilder => () => ({ data: value.text, label: 'raw/deep' })),
);

export const anyMessage: fc.Arbitrary<FrameBuilder> = fc.oneof({ weight: 12, arbitrary: validMessage }, { weight: 7, arbitrary: mutatedMessage }, { weight: 1, arbitrary: randomFrame });

// ---------------------------------------------------------------------------------------------
// 3. Scenarios

export const SOCKETS_PER_SCENARIO = 4;
const slot = fc.nat({ max: SOCKETS_PER_SCENARIO - 1 });

export type Step =
  | { kind: 'send'; slot: number; build: FrameBuilder }
  /** Joins the scenario's meeting (or another) the way a browser does: hello, join, as it should be. */
  | { kind: 'join'; slot: number; room: number; audioOnly: boolean }
  /** Waits until the server has handled everything this socket sent (ping → pong), and checks its error answers. */
  | { kind: 'sync'; slot: number }
  | { kind: 'close' | 'terminate'; slot: number }
  /** A new socket for the slot, with the old one's resume token (the old one may still be open: a half-open connection). */
  | { kind: 'reconnect'; slot: number; withToken: boolean; closeOld: 'close' | 'terminate' | 'keep' }
  | { kind: 'rejoin'; slot: number }
  /** The moderator sets a password; the others' later joins use it (or a wrong one). */
  | { kind: 'protect'; slot: number; password: string }
  | { kind: 'moderate'; slot: number; action: 'lock' | 'unlock' | 'lobby-on' | 'lobby-off' | 'admit-all' | 'decline-all' | 'hand-on' | 'remove-one' | 'mute-all' | 'unprotect' }
  | { kind: 'peer-lost'; slot: number }
  | { kind: 'leave'; slot: number }
  /** Issue 11, 2: a wrong password, the socket drops during the check, its token says hello on a new socket. */
  | { kind: 'password-race'; slot: number; drop: 'close' | 'terminate'; helloFirst: boolean }
  /** Far more messages at once than the rate limit lets through (the burst is 400, the cut-off 200 refusals later: even a slow server refuses a few hundred of 800). */
  | { kind: 'flood'; slot: number; count: number }
  /** More sockets from one address than allowed. */
  | { kind: 'crowd' };

export const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2000, arbitrary: fc.record({ kind: fc.constant('send' as const), slot, build: anyMessage }) },
  { weight: 300, arbitrary: fc.record({ kind: fc.constant('join' as const), slot, room: fc.oneof({ weight: 250, arbitrary: fc.constant(0) }, { weight: 50, arbitrary: fc.nat({ max: 3 }) }), audioOnly: fc.boolean() }) },
  { weight: 200, arbitrary: fc.record({ kind: fc.constant('sync' as const), slot }) },
  { weight: 50, arbitrary: fc.record({ kind: fc.constantFrom('close' as const, 'terminate' as const), slot }) },
  { weight: 100, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), slot, withToken: fc.oneof({ weight: 200, arbitrary: fc.constant(true) }, { weight: 50, arbitrary: fc.constant(false) }), closeOld: fc.constantFrom('close' as const, 'terminate' as const, 'keep' as const) }) },
  { weight: 100, arbitrary: fc.record({ kind: fc.constant('rejoin' as const), slot }) },
  { weight: 50, arbitrary: fc.record({ kind: fc.constant('protect' as const), slot, password: fc.constantFrom('s3cret-pass', 'Ünï 🔑 schloss', 'p'.repeat(128)) }) },
  { weight: 150, arbitrary: fc.record({ kind: fc.constant('moderate' as const), slot, action: fc.constantFrom('lock' as const, 'unlock' as const, 'lobby-on' as const, 'lobby-off' as const, 'admit-all' as const, 'decline-all' as const, 'hand-on' as const, 'remove-one' as const, 'mute-all' as const, 'unprotect' as const) }) },
  { weight: 50, arbitrary: fc.record({ kind: fc.constant('peer-lost' as const), slot }) },
  { weight: 50, arbitrary: fc.record({ kind: fc.constant('leave' as const), slot }) },
  { weight: 25, arbitrary: fc.record({ kind: fc.constant('password-race' as const), slot, drop: fc.constantFrom('close' as const, 'terminate' as const), helloFirst: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flood' as const), slot, count: fc.integer({ min: 800, max: 1200 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crowd' as const }) },
);

export const scenario: fc.Arbitrary<Step[]> = fc.array(step, { minLength: 20, maxLength: 120 });

export function scenarioFor(seed: number, lane: number, index: number): Step[] {
  return fc.sample(scenario, { numRuns: 1, seed: (seed + lane * 1_000_003 + index) | 0 })[0]!;
}

/** A step as one line, for failure reports. */
export function describeStep(step: Step): string {
  if (step.kind === 'send') return `send #${step.slot}`;
  const { kind, ...rest } = step;
  return `${kind} ${JSON.stringify(rest)}`;
}

// ---------------------------------------------------------------------------------------------
// 4. The server under test, as its own process

export interface FuzzTarget {
  child: ChildProcess;
  port: number;
  url: string;
  wsUrl: string;
  dataDir: string;
  output(): string;
  /** Set once the process exited: its exit code or signal. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<void>;
  /** Heap and RSS after two forced GCs in the server process (SIGUSR2 → gc()). */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>;
  metrics(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

// Preloaded into the server: on SIGUSR2, two full GCs, then one line with process.memoryUsage().
const GC_ON_SIGUSR2 =
  'data:text/javascript,process.on("SIGUSR2",()=>{globalThis.gc();globalThis.gc();process.stdout.write("FUZZ_MEMORY "+JSON.stringify(process.memoryUsage())+"\\n")})';

/**
 * The server settings the fuzz changes, and why:
 * - TREFF_TRUST_PROXY=true: every fuzz socket claims its own address in X-Forwarded-For (from a
 *   pool of 4,096 IPv4 and IPv6 addresses), as a reverse proxy would present many users: so the
 *   per-address limits (64 connections, password guesses) apply per fuzz "user" as in production,
 *   instead of all load counting against 127.0.0.1. The message rate limit (100/s, burst 400) stays
 *   as it is: each fuzz socket paces itself under it, and flood steps go over it on purpose.
 * - TREFF_SEAT_GRACE=2: a dropped participant's seat is held for 2 s, not 20, so that "no seat left
 *   behind" can be checked soon after the fuzz.
 */
export const FUZZ_SERVER_ENV: Record<string, string> = { TREFF_TRUST_PROXY: 'true', TREFF_SEAT_GRACE: '2' };

export async function startFuzzTarget(env: Record<string, string> = {}): Promise<FuzzTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'treff-fuzz-data-'));
  // TREFF_FUZZ_SERVER_DIR: run the server of another checkout (e.g. an older commit, to show the fuzz finds its crashes).
  const child = spawn(process.execPath, ['--expose-gc', '--import', GC_ON_SIGUSR2, '--import', 'tsx', 'signal/main.ts'], {
    cwd: process.env.TREFF_FUZZ_SERVER_DIR || process.cwd(),
    env: { ...process.env, TREFF_TURN: 'off', TREFF_PORT: '0', TREFF_HOST: '127.0.0.1', TREFF_DATA_DIR: dataDir, ...FUZZ_SERVER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let pendingMemory: Array<(usage: NodeJS.MemoryUsage) => void> = [];
  let lineBuffer = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-200_000);
    lineBuffer += text;
    let newline;
    while ((newline = lineBuffer.indexOf('\n')) >= 0) {
      const line = lineBuffer.slice(0, newline);
      lineBuffer = lineBuffer.slice(newline + 1);
      if (line.startsWith('FUZZ_MEMORY ')) {
        const usage = JSON.parse(line.slice('FUZZ_MEMORY '.length)) as NodeJS.MemoryUsage;
        const waiting = pendingMemory;
        pendingMemory = [];
        for (const done of waiting) done(usage);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000)));
  const target: FuzzTarget = {
    child,
    port: 0,
    url: '',
    wsUrl: '',
    dataDir,
    output: () => output,
    exit: undefined,
    exited: new Promise((done) =>
      child.on('exit', (code, signal) => {
        target.exit = { code, signal };
        rmSync(dataDir, { recursive: true, force: true });
        done();
      }),
    ),
    memoryAfterGc() {
      if (target.exit) return Promise.reject(new Error(`the server exited (${JSON.stringify(target.exit)})`));
      return new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error('the server did not report its memory within 10 s of SIGUSR2')), 10_000);
        pendingMemory.push((usage) => {
          clearTimeout(timer);
          done(usage);
        });
        child.kill('SIGUSR2');
      });
    },
    async metrics() {
      const text = await (await fetch(`${target.url}/metrics`)).text();
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (match) values.set(match[1]!, Number(match[2]));
      }
      return values;
    },
    async stop() {
      if (target.exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await target.exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 30_000;
  while (!/Treff is running: open http:\/\/[^:/]+:(\d+)\//.test(output)) {
    if (target.exit || Date.now() > deadline) {
      await target.stop();
      throw new Error(`the server did not start: ${output.slice(-3000)}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  target.port = Number(/Treff is running: open http:\/\/[^:/]+:(\d+)\//.exec(output)![1]);
  target.url = `http://127.0.0.1:${target.port}`;
  target.wsUrl = `ws://127.0.0.1:${target.port}/ws`;
  return target;
}

/** Meeting records the server left in its data directory (a meeting with nobody in it must leave none). */
export function storedMeetings(target: FuzzTarget): string[] {
  try {
    return readdirSync(join(target.dataDir, 'meetings')).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// 5. The driver

const RATE = { burst: 300, perSecond: 80 }; // under the server's default 400 / 100 per second
const MAX_MESSAGE_BYTES = 64 * 1024; // the server's default limits.maxMessageBytes
const SYNC_TIMEOUT_MS = 15_000;
const ALLOWED_ERROR_CODES = new Set<string>(ERROR_CODES);

export interface FuzzOptions {
  wsUrl: string;
  seed: number;
  /** Frames to send in all. */
  messages: number;
  lanes: number;
  deadline: number;
  /** Replay only this scenario ("lane:index"), alone. */
  only?: { lane: number; index: number };
  /** Called when a scenario starts, e.g. to print progress. */
  onScenario?: (lane: number, index: number, sent: number) => void;
  /** Checked between steps: true stops the run (e.g. the server process exited). */
  stop?: () => boolean;
  /** Extra diagnostics to record for every socket (costly: off in the benchmark). */
  keepLog?: boolean;
}

export interface Finding {
  what: string;
  lane: number;
  scenario: number;
  /** The steps of the scenario up to here, and the last frames of the socket involved. */
  context: string[];
}

export interface FuzzReport {
  seed: number;
  sent: number;
  bytes: number;
  scenarios: number;
  connections: number;
  /** Error answers by code. */
  errors: Map<string, number>;
  /** Close codes the server sent, by code (sockets we closed or terminated ourselves are not counted). */
  serverCloses: Map<number, number>;
  /** Frames over the message limit, and how the server closed those sockets. */
  oversized: number;
  /** Pings sent by flood steps (not counted in `sent`). */
  floodFrames: number;
  relayedDeep: number;
  passwordRaces: number;
  findings: Finding[];
  /** Scenarios running when the run ended (for a crash: the ones that may have caused it). */
  inFlight: Array<{ lane: number; scenario: number; step: number; steps: string[]; lastFrames: string[] }>;
  /** Every resume token the server gave out, with the socket that got it (lane:scenario#slot): after the fuzz, none may still own a seat or a place in a meeting. */
  tokens: Array<{ token: string; tag: string }>;
  /** The last frames sent before the run ended, across all sockets, oldest first. */
  lastFrames: string[];
  elapsedMs: number;
}

const inc = <K>(map: Map<K, number>, key: K, by = 1) => map.set(key, (map.get(key) ?? 0) + by);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The code the server must answer a frame with when the protocol's own parser refuses it; undefined when it parses. */
export function expectedRefusal(data: string | Buffer): { code: string | undefined; message: ClientMessage | undefined } {
  // The server decodes every frame as UTF-8 (lone surrogates were already replaced when ws encoded the text).
  const text = typeof data === 'string' ? Buffer.from(data).toString('utf8') : data.toString('utf8');
  try {
    return { code: undefined, message: parseClientMessage(text) };
  } catch (error) {
    if (error instanceof ProtocolError) return { code: error.code, message: undefined };
    return { code: 'crash-in-parser:' + String(error), message: undefined };
  }
}

let addressCounter = 0;
/** A made-up client address for X-Forwarded-For (documentation and private ranges, IPv4 and IPv6). */
function fakeAddress(n: number): string {
  const i = n % 4096;
  return i % 4 === 3 ? `2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}` : `10.${i >> 8}.${i & 255}.${1 + (i % 200)}`;
}

class FuzzSocket {
  ws!: WebSocket;
  greeted = false;
  /** The server will close it (version mismatch, oversized frame, flood): stop expecting answers. */
  ending: string | undefined;
  /** Answers no longer checked (after a flood, some refusals are silent by design). */
  unchecked = false;
  closedByUs = false;
  closed = false;
  closeCode: number | undefined;
  id: string | undefined;
  token: string | undefined;
  room: string | undefined;
  waiting = false;
  moderator: string | undefined;
  moderatorKey: string | undefined;
  settings: { locked: boolean; lobby: boolean; hasPassword: boolean } | undefined;
  peers = new Set<string>();
  knocking = new Set<string>();
  expected = new Map<string, number>();
  got = new Map<string, number>();
  sentSinceSync = 0;
  /** Pings the server will answer, and pongs so far: a sync waits for the pong of its own ping. */
  pings = 0;
  pongs = 0;
  lastFrames: string[] = [];
  private tokens = RATE.burst;
  private tokensAt = Date.now();
  private waiters = new Set<{ match: (m: ServerMessage) => boolean; done: (m: ServerMessage | undefined) => void }>();

  constructor(
    readonly run: FuzzRun,
    readonly address: string,
    /** lane:scenario#slot, in the logs. */
    readonly tag: string,
  ) {}

  open(): Promise<boolean> {
    return new Promise((done) => {
      const ws = new WebSocket(this.run.options.wsUrl, { headers: { 'x-forwarded-for': this.address } });
      this.ws = ws;
      this.run.report.connections++;
      ws.on('message', (raw: WebSocket.RawData) => this.onMessage(raw.toString()));
      ws.on('error', () => {});
      ws.once('open', () => done(true));
      ws.once('close', (code: number) => {
        this.closed = true;
        this.closeCode = code;
        for (const waiter of this.waiters) waiter.done(undefined);
        this.waiters.clear();
        this.run.onClose(this, code);
        done(false);
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Waits for a server message matching `match` (undefined when the socket closes or time runs out). */
  next(match: (m: ServerMessage) => boolean, timeoutMs = SYNC_TIMEOUT_MS): Promise<ServerMessage | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        done(undefined);
      }, timeoutMs);
      const waiter = {
        match,
        done: (m: ServerMessage | undefined) => {
          clearTimeout(timer);
          done(m);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Stays under the server's rate limit: waits for a token of our own bucket. */
  async pace(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(RATE.burst, this.tokens + ((now - this.tokensAt) / 1000) * RATE.perSecond);
      this.tokensAt = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / RATE.perSecond) * 1000));
    }
  }

  spendAll(): void {
    this.tokens = 0;
    this.tokensAt = Date.now();
  }

  /** Sends one frame, noting which error the server owes us for it. */
  send(data: string | Buffer, label: string): void {
    if (!this.isOpen) return;
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.run.report.sent++;
    this.run.report.bytes += bytes;
    if (this.run.options.keepLog !== false) {
      const line = `${label}: ${(typeof data === 'string' ? data : `<${data.length} bytes> ` + data.toString('utf8')).slice(0, 300)}`;
      this.lastFrames.push(line);
      if (this.lastFrames.length > 12) this.lastFrames.shift();
      this.run.recent.push(`${this.tag} (${bytes} B) ${line.slice(0, 200)}`);
      if (this.run.recent.length > 40) this.run.recent.shift();
    }
    this.ws.send(data);
    if (this.ending) return;
    if (bytes > MAX_MESSAGE_BYTES) {
      this.ending = 'oversized';
      this.run.report.oversized++;
      return;
    }
    const { code, message } = expectedRefusal(data);
    if (this.greeted && message?.type === 'ping') this.pings++;
    if (this.unchecked) return;
    this.sentSinceSync++;
    if (code?.startsWith('crash-in-parser')) this.run.find(this, `parseClientMessage threw a non-protocol error: ${code}`);
    if (!this.greeted) {
      // Before hello, anything but a good hello is refused (bad-message or hello-required).
      if (message?.type === 'hello') {
        if (message.version !== PROTOCOL_VERSION) {
          inc(this.expected, 'version-mismatch');
          this.ending = 'version-mismatch';
        } else this.greeted = true;
      } else inc(this.expected, '*');
      return;
    }
    if (code) inc(this.expected, code);
    else if (message?.type === 'hello' && message.version !== PROTOCOL_VERSION) {
      inc(this.expected, 'version-mismatch');
      this.ending = 'version-mismatch';
    } else if (message?.type === 'signal' && message.data.type === 'transceiverRequest' && this.room && this.peers.has(message.to)) {
      const text = typeof data === 'string' ? data : data.toString();
      if (text.length > 2000 && /"init":/.test(text) && /\[\[\[\[|\{"a":\{"a":|\[\{"a":\[\{"a":/.test(text)) this.run.report.relayedDeep++;
    }
  }

  /** Ping, and wait for the pong: the server has handled everything sent before. Then check its refusals. */
  async sync(): Promise<void> {
    if (!this.isOpen || this.ending || !this.greeted) return;
    await this.pace();
    const ours = this.pings + 1;
    const pong = this.next((m) => m.type === 'pong' && this.pongs >= ours);
    this.send(JSON.stringify({ type: 'ping' }), 'ping');
    const answer = await pong;
    if (!answer) {
      if (this.isOpen && !this.ending) this.run.find(this, `no pong within ${SYNC_TIMEOUT_MS} ms (the server stopped answering this socket)`);
      return;
    }
    if (!this.unchecked) this.checkRefusals();
    this.expected.clear();
    this.got.clear();
    this.sentSinceSync = 0;
  }

  private checkRefusals(): void {
    let expectedTotal = 0;
    let gotTotal = 0;
    for (const [code, n] of this.expected) {
      expectedTotal += n;
      if (code !== '*' && (this.got.get(code) ?? 0) < n) this.run.find(this, `expected ${n} "${code}" error(s) for frames the protocol parser refuses, got ${this.got.get(code) ?? 0} (errors received: ${JSON.stringify(Object.fromEntries(this.got))})`);
    }
    for (const n of this.got.values()) gotTotal += n;
    if (gotTotal < expectedTotal) this.run.find(this, `expected at least ${expectedTotal} error answers since the last sync, got ${gotTotal}`);
  }

  private onMessage(text: string): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(text);
    } catch (error) {
      this.run.find(this, `the server sent a message the client parser refuses: ${text.slice(0, 300)} (${String(error)})`);
      // Still an answer: count its code, so one finding is not reported twice.
      try {
        const raw = JSON.parse(text) as { type?: unknown; code?: unknown };
        if (raw.type === 'error' && typeof raw.code === 'string') inc(this.got, raw.code);
      } catch {
        // not JSON: the finding says it
      }
      return;
    }
    switch (message.type) {
      case 'welcome':
        this.id = message.you;
        this.token = message.resumeToken;
        this.run.know(message.you);
        this.run.report.tokens.push({ token: message.resumeToken, tag: this.tag });
        break;
      case 'joined':
        this.room = message.room;
        this.waiting = false;
        this.moderator = message.moderator;
        this.settings = message.settings;
        if (message.moderatorKey) this.moderatorKey = message.moderatorKey;
        this.peers = new Set(message.participants.map((p) => p.id));
        for (const p of message.participants) this.run.know(p.id);
        break;
      case 'participant-joined':
        this.peers.add(message.participant.id);
        this.run.know(message.participant.id);
        break;
      case 'participant-left':
        this.peers.delete(message.id);
        break;
      case 'moderator-changed':
        this.moderator = message.moderator;
        break;
      case 'moderator-key':
        this.moderatorKey = message.key;
        break;
      case 'room-settings':
        this.settings = message.settings;
        break;
      case 'knocking':
        this.knocking.add(message.participant.id);
        this.run.know(message.participant.id);
        break;
      case 'knock-withdrawn':
        this.knocking.delete(message.id);
        break;
      case 'lobby-waiting':
        this.waiting = true;
        break;
      case 'removed':
        this.room = undefined;
        this.peers.clear();
        break;
      case 'pong':
        this.pongs++;
        break;
      case 'error':
        inc(this.got, message.code);
        inc(this.run.report.errors, message.code);
        if (!ALLOWED_ERROR_CODES.has(message.code)) this.run.find(this, `unknown error code ${message.code}`);
        if (message.code === 'declined') this.waiting = false;
        break;
      default:
        break;
    }
    for (const waiter of this.waiters) {
      if (waiter.match(message)) {
        this.waiters.delete(waiter);
        waiter.done(message);
        break;
      }
    }
  }

  close(how: 'close' | 'terminate'): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closedByUs = true;
    const closed = new Promise<void>((done) => this.ws.once('close', () => done()));
    if (how === 'terminate' || this.ws.readyState !== WebSocket.OPEN) this.ws.terminate();
    else this.ws.close(1000);
    return Promise.race([closed, sleep(5000)]).then(() => undefined);
  }
}

/** Close codes a server may end a fuzz socket with: each says why. 1006 (no close frame) is a drop. */
const CLEAR_CLOSE_CODES = new Set([1000, 1001, 1005, 1008, 1009, 1011]);

class FuzzRun {
  readonly report: FuzzReport;
  /** The last frames sent by any socket, in order: a crash was caused by one of the last few. */
  readonly recent: string[] = [];
  drops = 0;
  private readonly known: string[] = [];
  private readonly current = new Map<number, { scenario: number; step: number; steps: Step[]; sockets: Array<FuzzSocket | undefined> }>();

  constructor(readonly options: FuzzOptions) {
    this.report = { seed: options.seed, sent: 0, bytes: 0, scenarios: 0, connections: 0, errors: new Map(), serverCloses: new Map(), oversized: 0, floodFrames: 0, relayedDeep: 0, passwordRaces: 0, findings: [], inFlight: [], tokens: [], lastFrames: [], elapsedMs: 0 };
  }

  know(id: string): void {
    if (this.known.includes(id)) return;
    this.known.push(id);
    if (this.known.length > 200) this.known.shift();
  }

  find(socket: FuzzSocket | undefined, what: string, drop = false): void {
    if (this.report.findings.length >= 50) return;
    if (drop) this.drops++;
    const lane = socket ? this.laneOf(socket) : -1;
    const current = this.current.get(lane);
    this.report.findings.push({
      what,
      lane,
      scenario: current?.scenario ?? -1,
      context: [...(current ? current.steps.slice(0, current.step + 1).map(describeStep) : []), ...(socket ? ['last frames of that socket:', ...socket.lastFrames] : [])],
    });
  }

  private laneOf(socket: FuzzSocket): number {
    for (const [lane, current] of this.current) if (current.sockets.includes(socket)) return lane;
    return -1;
  }

  onClose(socket: FuzzSocket, code: number): void {
    if (socket.closedByUs) return;
    inc(this.report.serverCloses, code);
    const clear = CLEAR_CLOSE_CODES.has(code) || (code >= 4000 && code <= 4999);
    if (clear) return;
    // uWS drops a connection whose frame is over maxPayloadLength without a close frame: counted apart.
    if (socket.ending === 'oversized') return;
    // Judged at the end: when the server process died, every socket dropped, and that is reported once.
    this.find(socket, `the server dropped the connection without a close code (${code})`, true);
  }

  ids(ctx: FuzzSocket): string[] {
    return this.known.filter((id) => id !== ctx.id);
  }

  async runLane(lane: number): Promise<void> {
    const { options } = this;
    for (let index = options.only?.index ?? 0; ; index++) {
      if (this.done()) return;
      const steps = scenarioFor(options.seed, lane, index);
      options.onScenario?.(lane, index, this.report.sent);
      await this.runScenario(lane, index, steps);
      this.report.scenarios++;
      if (options.only) return;
    }
  }

  done(): boolean {
    return this.report.sent >= this.options.messages || Date.now() > this.options.deadline || Boolean(this.options.stop?.());
  }

  private async runScenario(lane: number, index: number, steps: Step[]): Promise<void> {
    const sockets: Array<FuzzSocket | undefined> = Array.from({ length: SOCKETS_PER_SCENARIO }, () => undefined);
    const current = { scenario: index, step: 0, steps, sockets };
    this.current.set(lane, current);
    const rooms = [`lane-${lane}-${index}`, 'Fuzz Shared', `Lane ${lane} ${index}`, MEETING_NAMES[(lane + index) % MEETING_NAMES.length]!];
    const state = { rooms, password: undefined as string | undefined };
    const addressBase = addressCounter++ * 7;
    // Every socket the scenario opened, also those a slot has moved on from: all are closed at its end.
    const all: FuzzSocket[] = [];
    const fresh = async (i: number): Promise<FuzzSocket> => {
      const socket = new FuzzSocket(this, fakeAddress(addressBase + i), `${lane}:${index}#${i}`);
      sockets[i] = socket;
      all.push(socket);
      await socket.open();
      return socket;
    };
    const greeted = async (i: number): Promise<FuzzSocket> => {
      let socket = sockets[i];
      if (!socket || socket.closed || socket.ending) socket = await fresh(i);
      if (!socket.greeted && socket.isOpen) {
        await socket.pace();
        const welcome = socket.next((m) => m.type === 'welcome');
        socket.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION }), 'hello');
        await welcome;
      }
      return socket;
    };
    const contextOf = (socket: FuzzSocket): FuzzContext => ({
      self: socket.id,
      peers: [...socket.peers],
      knocking: [...socket.knocking],
      knownIds: this.ids(socket),
      rooms,
      password: state.password,
      moderatorKey: socket.moderatorKey,
      resumeToken: socket.token,
      otherTokens: sockets.filter((s) => s && s !== socket && s.token).map((s) => s!.token!),
    });
    const stopped = () => this.done();
    try {
      for (let s = 0; s < steps.length && !stopped(); s++) {
        current.step = s;
        await this.runStep(steps[s]!, sockets, state, fresh, greeted, contextOf);
      }
      for (const socket of sockets) if (socket && !stopped()) await socket.sync();
    } finally {
      await Promise.all(all.map((socket, i) => socket.close(i % 3 === 0 ? 'terminate' : 'close')));
      // A crash leaves the scenario in flight: say which it was.
      if (this.options.stop?.()) {
        this.report.inFlight.push({ lane, scenario: index, step: current.step, steps: steps.slice(0, current.step + 1).map(describeStep), lastFrames: sockets.flatMap((socket, i) => (socket ? socket.lastFrames.map((f) => `#${i} ${f}`) : [])) });
      }
      this.current.delete(lane);
    }
  }

  private async runStep(
    step: Step,
    sockets: Array<FuzzSocket | undefined>,
    state: { rooms: string[]; password: string | undefined },
    fresh: (i: number) => Promise<FuzzSocket>,
    greeted: (i: number) => Promise<FuzzSocket>,
    contextOf: (socket: FuzzSocket) => FuzzContext,
  ): Promise<void> {
    switch (step.kind) {
      case 'send': {
        let socket = sockets[step.slot];
        if (!socket || socket.closed) socket = await greeted(step.slot);
        await socket.pace();
        const frame = step.build(contextOf(socket));
        socket.send(frame.data, frame.label);
        if (socket.sentSinceSync >= 40) await socket.sync();
        return;
      }
      case 'join': {
        const socket = await greeted(step.slot);
        if (socket.room || socket.waiting) return;
        await socket.pace();
        const answer = socket.next((m) => m.type === 'joined' || m.type === 'error' || m.type === 'lobby-waiting');
        socket.send(toJson({ type: 'join', room: state.rooms[step.room], name: DISPLAY_NAMES[step.slot]!, password: state.password, moderatorKey: socket.moderatorKey, audioOnly: step.audioOnly || undefined }), 'join (as a browser)');
        await answer;
        return;
      }
      case 'sync':
        return sockets[step.slot]?.sync();
      case 'close':
      case 'terminate':
        return sockets[step.slot]?.close(step.kind);
      case 'reconnect': {
        const old = sockets[step.slot];
        if (old && step.closeOld !== 'keep') await old.close(step.closeOld);
        const socket = await fresh(step.slot);
        if (!socket.isOpen) return;
        await socket.pace();
        const welcome = socket.next((m) => m.type === 'welcome');
        socket.send(toJson({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: step.withToken ? old?.token : undefined }), 'hello (reconnect)');
        const answer = await welcome;
        // Resumed: the seat, the meeting and what we knew of it are ours again.
        if (answer?.type === 'welcome' && answer.resumed && old) {
          socket.room = old.room;
          socket.peers = old.peers;
          socket.moderatorKey = old.moderatorKey;
          socket.moderator = old.moderator;
          if (step.closeOld === 'keep') old.closedByUs = true; // the server ends it (1001) on purpose
        }
        return;
      }
      case 'rejoin': {
        const old = sockets[step.slot];
        if (!old?.token) return;
        const peers = [...old.peers];
        await old.close('terminate');
        const socket = await fresh(step.slot);
        if (!socket.isOpen) return;
        await socket.pace();
        const welcome = socket.next((m) => m.type === 'welcome');
        socket.send(toJson({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: old.token }), 'hello (rejoin)');
        const answer = await welcome;
        if (answer?.type !== 'welcome' || answer.resumed) return;
        await socket.pace();
        const joined = socket.next((m) => m.type === 'joined' || m.type === 'error' || m.type === 'lobby-waiting');
        socket.send(toJson({ type: 'join', room: old.room ?? state.rooms[0], name: 'Rejoiner', moderatorKey: old.moderatorKey, rejoin: { participants: peers.filter((id) => id !== old.id) } }), 'join (rejoin)');
        await joined;
        return;
      }
      case 'protect': {
        const socket = sockets[step.slot];
        if (!socket?.isOpen || !socket.room || socket.moderator !== socket.id) return;
        await socket.pace();
        const settled = socket.next((m) => (m.type === 'room-settings' && m.settings.hasPassword) || m.type === 'error');
        socket.send(toJson({ type: 'set-password', password: step.password }), 'set-password (moderator)');
        if ((await settled)?.type === 'room-settings') state.password = step.password;
        return;
      }
      case 'moderate': {
        const socket = sockets[step.slot];
        if (!socket?.isOpen || !socket.room) return;
        const others = [...socket.peers].filter((id) => id !== socket.id);
        const messages: object[] =
          step.action === 'lock' ? [{ type: 'lock', locked: true }]
          : step.action === 'unlock' ? [{ type: 'lock', locked: false }]
          : step.action === 'lobby-on' ? [{ type: 'lobby', enabled: true }]
          : step.action === 'lobby-off' ? [{ type: 'lobby', enabled: false }]
          : step.action === 'admit-all' ? [...socket.knocking].map((id) => ({ type: 'admit', id }))
          : step.action === 'decline-all' ? [...socket.knocking].map((id) => ({ type: 'decline', id }))
          : step.action === 'hand-on' ? others.slice(0, 1).map((id) => ({ type: 'make-moderator', id }))
          : step.action === 'remove-one' ? others.slice(-1).map((id) => ({ type: 'remove', id }))
          : step.action === 'mute-all' ? [{ type: 'mute-all' }]
          : [{ type: 'set-password', password: null }];
        for (const message of messages) {
          await socket.pace();
          socket.send(toJson(message), `${step.action} (moderator)`);
        }
        if (step.action === 'unprotect' && socket.moderator === socket.id) state.password = undefined;
        if (step.action === 'admit-all' || step.action === 'decline-all') socket.knocking.clear();
        return;
      }
      case 'peer-lost': {
        // Tell the server about a peer whose socket is gone (its seat held): the crashed-browser path.
        const socket = sockets[step.slot];
        if (!socket?.isOpen) return;
        const gone = sockets.find((s) => s && s !== socket && s.closed && s.id && socket.peers.has(s.id));
        const id = gone?.id ?? [...socket.peers].find((p) => p !== socket.id);
        if (!id) return;
        await socket.pace();
        socket.send(toJson({ type: 'peer-lost', id }), 'peer-lost');
        return;
      }
      case 'leave': {
        const socket = sockets[step.slot];
        if (!socket?.isOpen || !socket.room) return;
        await socket.pace();
        socket.send(toJson({ type: 'leave' }), 'leave');
        socket.room = undefined;
        socket.peers.clear();
        return;
      }
      case 'password-race':
        return this.passwordRace(step, sockets, fresh, greeted);
      case 'flood': {
        const socket = await greeted(step.slot);
        if (!socket.isOpen) return;
        socket.unchecked = true;
        const closed = new Promise<void>((done) => socket.ws.once('close', () => done()));
        for (let i = 0; i < step.count; i++) socket.send(JSON.stringify({ type: 'ping' }), 'ping (flood)');
        // Counted apart: thousands of identical pings must not stand in for structured messages.
        this.report.sent -= step.count;
        this.report.floodFrames += step.count;
        socket.spendAll();
        // Over the burst: the server refuses (one rate-limited error), and closes with 4008 past the maximum refused.
        const limited = socket.next((m) => m.type === 'error' && m.code === 'rate-limited');
        const answer = await Promise.race([limited, closed.then(() => undefined)]);
        if (!answer && !socket.closed) this.find(socket, `a flood of ${step.count} messages got neither "rate-limited" nor a close`);
        // Refusals past the first are silent, so nothing on this socket can be checked any more: done with it.
        await socket.close('terminate');
        return;
      }
      case 'crowd': {
        // 70 sockets from one address: past the limit (64), each is closed with 4029.
        const address = fakeAddress(100_000 + addressCounter++);
        const crowd = Array.from({ length: 70 }, (_, i) => new FuzzSocket(this, address, `crowd#${i}`));
        await Promise.all(crowd.map((socket) => socket.open()));
        // Each is either refused (closed) or greeted: then all 70 have been decided.
        await Promise.all(
          crowd.map(async (socket) => {
            if (socket.closed) return;
            await socket.pace();
            const welcome = socket.next((m) => m.type === 'welcome');
            socket.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION }), 'hello (crowd)');
            await welcome;
          }),
        );
        const refused = crowd.filter((socket) => socket.closeCode === 4029).length;
        if (refused < 6) this.find(undefined, `70 sockets from one address: only ${refused} were refused with 4029 (limit 64)`);
        await Promise.all(crowd.map((socket) => socket.close('close')));
        return;
      }
    }
  }

  /** Issue 11, 2: join with a wrong password, drop the socket while scrypt runs, hello with the same token on a new one. */
  private async passwordRace(step: Extract<Step, { kind: 'password-race' }>, sockets: Array<FuzzSocket | undefined>, fresh: (i: number) => Promise<FuzzSocket>, greeted: (i: number) => Promise<FuzzSocket>): Promise<void> {
    this.report.passwordRaces++;
    const room = `race-${this.report.passwordRaces}-${addressCounter++}`;
    const moderatorSlot = (step.slot + 1) % SOCKETS_PER_SCENARIO;
    const moderator = await greeted(moderatorSlot);
    if (!moderator.isOpen || moderator.room) return;
    await moderator.pace();
    const joined = moderator.next((m) => m.type === 'joined' || m.type === 'error');
    moderator.send(toJson({ type: 'join', room, name: 'Race moderator' }), 'join (race)');
    if ((await joined)?.type !== 'joined') return;
    await moderator.pace();
    const protectedRoom = moderator.next((m) => (m.type === 'room-settings' && m.settings.hasPassword) || m.type === 'error');
    moderator.send(toJson({ type: 'set-password', password: 'the right one' }), 'set-password (race)');
    if ((await protectedRoom)?.type !== 'room-settings') return;
    const victim = await greeted(step.slot);
    if (!victim.isOpen || !victim.token || victim.room) return;
    const token = victim.token;
    await victim.pace();
    victim.send(toJson({ type: 'join', room, name: 'Guesser', password: 'wrong' }), 'join (wrong password, race)');
    const reopen = async () => {
      const socket = await fresh(step.slot);
      await socket.pace();
      const welcome = socket.next((m) => m.type === 'welcome');
      socket.send(toJson({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: token }), 'hello (same token, race)');
      return { socket, welcome };
    };
    let again: { socket: FuzzSocket; welcome: Promise<ServerMessage | undefined> };
    if (step.helloFirst) {
      // The new socket says hello before the old one is gone (a half-open connection).
      again = await reopen();
      await victim.close(step.drop);
    } else {
      await victim.close(step.drop);
      again = await reopen();
    }
    await again.welcome;
    // A second wrong guess on the new socket: by its answer, the first check has finished too.
    if (!again.socket.isOpen) return;
    await again.socket.pace();
    const answer = again.socket.next((m) => m.type === 'error' || m.type === 'joined' || m.type === 'lobby-waiting');
    again.socket.send(toJson({ type: 'join', room, name: 'Guesser', password: 'wrong again' }), 'join (wrong password again)');
    await answer;
    await again.socket.sync();
  }
}

/** Runs the fuzz; resolves when `messages` frames were sent, the deadline passed or `stop` said so. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const run = new FuzzRun(options);
  const started = Date.now();
  if (options.only) await run.runLane(options.only.lane);
  else await Promise.all(Array.from({ length: options.lanes }, (_, lane) => run.runLane(lane)));
  run.report.elapsedMs = Date.now() - started;
  run.report.lastFrames = [...run.recent];
  // The server died: its sockets all dropped at once, which says nothing more.
  if (options.stop?.()) run.report.findings = run.report.findings.filter((f) => !f.what.startsWith('the server dropped the connection'));
  return run.report;
}

/** The failure text: the seed and how to run it again, first. */
export function describeReport(report: FuzzReport, rerun: string): string {
  const lines = [
    `fuzz seed ${report.seed} (rerun: TREFF_FUZZ_SEED=${report.seed} ${rerun})`,
    `${report.sent} frames (${(report.bytes / 1e6).toFixed(1)} MB) in ${report.scenarios} scenarios over ${report.connections} connections in ${report.elapsedMs} ms; ` +
      `${report.relayedDeep} deep transceiverRequest.init relayed to a peer, ${report.passwordRaces} password races, ${report.oversized} oversized frames, and ${report.floodFrames} flood pings`,
    `errors by code: ${JSON.stringify(Object.fromEntries([...report.errors].sort()))}`,
    `closes by the server, by code: ${JSON.stringify(Object.fromEntries(report.serverCloses))}`,
  ];
  for (const finding of report.findings.slice(0, 10)) lines.push(`FINDING (lane ${finding.lane}, scenario ${finding.scenario}; replay: TREFF_FUZZ_SEED=${report.seed} TREFF_FUZZ_REPLAY=${finding.lane}:${finding.scenario}): ${finding.what}`, ...finding.context.slice(-25).map((line) => `    ${line}`));
  if (report.inFlight.length > 0) {
    lines.push(`scenarios in flight when the run ended (replay one alone: TREFF_FUZZ_SEED=${report.seed} TREFF_FUZZ_REPLAY=lane:scenario): ${report.inFlight.map((f) => `${f.lane}:${f.scenario} (step ${f.step})`).join(', ')}`);
    lines.push('last frames sent before the end (lane:scenario#socket), oldest first:', ...report.lastFrames.slice(-15).map((line) => `    ${line}`));
  }
  return lines.join('\n');
}

/** TREFF_FUZZ_REPLAY="lane:scenario" → that one scenario alone. */
export function replayTarget(): { lane: number; index: number } | undefined {
  const match = /^(\d+):(\d+)$/.exec(process.env.TREFF_FUZZ_REPLAY ?? '');
  return match ? { lane: Number(match[1]), index: Number(match[2]) } : undefined;
}

/**
 * After a fuzz, with nobody connected: a resume token that still resumes a seat, or whose id the
 * server will not give back because that id is still in a meeting or holds a seat, is a leftover.
 * Returns those (with the socket that got the token, lane:scenario#slot). Checks `limit` tokens
 * spread evenly over the run, or all of them with limit Infinity.
 */
export async function seatsStillHeld(wsUrl: string, tokens: Array<{ token: string; tag: string }>, limit = 100): Promise<string[]> {
  const unique = [...new Map(tokens.map((t) => [t.token, t])).values()];
  const every = Number.isFinite(limit) ? Math.max(1, Math.ceil(unique.length / limit)) : 1;
  const sample = unique.filter((_, i) => i % every === 0);
  const held: string[] = [];
  for (let i = 0; i < sample.length; i += 20) {
    await Promise.all(
      sample.slice(i, i + 20).map(
        ({ token, tag }, j) =>
          new Promise<void>((done) => {
            const ws = new WebSocket(wsUrl, { headers: { 'x-forwarded-for': fakeAddress(200_000 + i + j) } });
            const timer = setTimeout(() => {
              held.push(`${tag} ${token}: no welcome`);
              ws.terminate();
            }, 10_000);
            ws.on('error', () => {});
            ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: token })));
            ws.on('message', (raw: WebSocket.RawData) => {
              const message = parseServerMessage(raw.toString());
              if (message.type !== 'welcome') return;
              if (message.resumed) held.push(`${tag} ${token}: resumed its seat`);
              else if (adoptable(token) && message.you !== idForToken(token)) held.push(`${tag} ${token}: its id ${idForToken(token)} is still in use`);
              clearTimeout(timer);
              ws.close();
            });
            ws.on('close', () => {
              clearTimeout(timer);
              done();
            });
          }),
      ),
    );
  }
  return held;
}

export interface ServerState {
  connections: number;
  rooms: number;
  participants: number;
  storedMeetings: number;
}

/**
 * Polls /metrics until the server holds no more than `allowed` connections, meetings and
 * participants (and the data directory no meeting record), or `timeoutMs` passes; returns what it
 * saw last. Held seats expire after TREFF_SEAT_GRACE (2 s here), so this settles within seconds.
 */
export async function waitForEmpty(target: FuzzTarget, allowed: Partial<ServerState> = {}, timeoutMs = 20_000): Promise<ServerState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metrics = await target.metrics();
    const state: ServerState = {
      connections: metrics.get('treff_connections') ?? NaN,
      rooms: metrics.get('treff_rooms') ?? NaN,
      participants: metrics.get('treff_participants') ?? NaN,
      storedMeetings: storedMeetings(target).length,
    };
    const empty = (Object.keys(state) as Array<keyof ServerState>).every((key) => state[key] <= (allowed[key] ?? 0));
    if (empty || Date.now() > deadline || target.exit) return state;
    await sleep(100);
  }
}

// Safety numbers: the short code two participants compare aloud to rule out a man in the middle (issue 8).
//
// The code is SHA-256 over a domain label and both (DTLS fingerprint, nonce) pairs, in canonical order, each
// field length-prefixed. The nonces come from the commit-then-reveal exchange (commit-reveal.ts): without
// them a signalling server could grind certificates until two short codes collide.

/** Bytes of each side's random nonce: large enough that a commitment hides it. */
export const NONCE_BYTES = 32;

const SHA256_BYTES = 32;

export interface SafetyCode {
  /** 25 digits in 5 groups, '01234 56789 …': 10^25 values, about 83 bits. */
  digits: string;
  /** 7 emoji drawn from 64: 42 bits, taken from hash bytes the digits do not use. */
  words: string[];
  /** The English names of `words`, same order: for screen readers, missing emoji fonts and translation keys. */
  names: string[];
}

// Why emoji and not English words: people in a Treff call may share no English, and a picture is named in
// whatever language the call is held in; the set is Matrix's SAS list (spec appendix), chosen for being
// distinct and nameable, already translated into 30 languages, and 64 entries keep the table small.
// With commit-reveal a man in the middle gets one blind guess: 2^-42 when people compare the emoji.
const EMOJI: readonly (readonly [string, string])[] = [
  ['🐶', 'Dog'], ['🐱', 'Cat'], ['🦁', 'Lion'], ['🐎', 'Horse'], ['🦄', 'Unicorn'], ['🐷', 'Pig'],
  ['🐘', 'Elephant'], ['🐰', 'Rabbit'], ['🐼', 'Panda'], ['🐓', 'Rooster'], ['🐧', 'Penguin'], ['🐢', 'Turtle'],
  ['🐟', 'Fish'], ['🐙', 'Octopus'], ['🦋', 'Butterfly'], ['🌷', 'Flower'], ['🌳', 'Tree'], ['🌵', 'Cactus'],
  ['🍄', 'Mushroom'], ['🌏', 'Globe'], ['🌙', 'Moon'], ['☁️', 'Cloud'], ['🔥', 'Fire'], ['🍌', 'Banana'],
  ['🍎', 'Apple'], ['🍓', 'Strawberry'], ['🌽', 'Corn'], ['🍕', 'Pizza'], ['🎂', 'Cake'], ['❤️', 'Heart'],
  ['😀', 'Smiley'], ['🤖', 'Robot'], ['🎩', 'Hat'], ['👓', 'Glasses'], ['🔧', 'Spanner'], ['🎅', 'Santa'],
  ['👍', 'Thumbs Up'], ['☂️', 'Umbrella'], ['⌛', 'Hourglass'], ['⏰', 'Clock'], ['🎁', 'Gift'], ['💡', 'Light Bulb'],
  ['📕', 'Book'], ['✏️', 'Pencil'], ['📎', 'Paperclip'], ['✂️', 'Scissors'], ['🔒', 'Lock'], ['🔑', 'Key'],
  ['🔨', 'Hammer'], ['☎️', 'Telephone'], ['🏁', 'Flag'], ['🚂', 'Train'], ['🚲', 'Bicycle'], ['✈️', 'Aeroplane'],
  ['🚀', 'Rocket'], ['🏆', 'Trophy'], ['⚽', 'Ball'], ['🎸', 'Guitar'], ['🎺', 'Trumpet'], ['🔔', 'Bell'],
  ['⚓', 'Anchor'], ['🎧', 'Headphones'], ['📁', 'Folder'], ['📌', 'Pin'],
];

/** The English names in table order: translations list theirs in the same order (security.emojiNames). */
export const EMOJI_NAMES: readonly string[] = EMOJI.map(([, name]) => name);

const DIGIT_GROUPS = 5;
const BYTES_PER_GROUP = 5; // 40 bits reduced mod 10^5: the bias is below 10^-7
const EMOJI_COUNT = 7;
const EMOJI_OFFSET = DIGIT_GROUPS * BYTES_PER_GROUP; // bytes 25..30 of the hash

const FINGERPRINT = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

/** A SHA-256 fingerprint in the canonical upper-case 'AA:BB:…' form, or null when it is not one. */
export function normaliseFingerprint(value: string): string | null {
  const upper = value.trim().toUpperCase();
  return FINGERPRINT.test(upper) ? upper : null;
}

/**
 * The DTLS certificate fingerprint an SDP announces. Null when there is no sha-256 one, or when its
 * sections announce different ones: then no single certificate speaks for the connection.
 */
export function fingerprintOf(sdp: string): string | null {
  const found = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) {
    const match = /^a=fingerprint:(\S+) (\S+)\s*$/.exec(line);
    if (!match || match[1]?.toLowerCase() !== 'sha-256') continue;
    const fingerprint = normaliseFingerprint(match[2] ?? '');
    if (!fingerprint) return null;
    found.add(fingerprint);
  }
  return found.size === 1 ? ([...found][0] ?? null) : null;
}

export function fingerprintBytes(fingerprint: string): Uint8Array<ArrayBuffer> {
  const canonical = normaliseFingerprint(fingerprint);
  if (!canonical) throw new TypeError(`not a sha-256 fingerprint: ${fingerprint.slice(0, 100)}`);
  return Uint8Array.from(canonical.split(':'), (pair) => parseInt(pair, 16));
}

/** SHA-256 over a domain label and fields, each prefixed with its 32-bit length, so no two inputs encode alike. */
export async function domainHash(label: string, ...fields: Uint8Array[]): Promise<Uint8Array> {
  const parts = [new TextEncoder().encode(label), ...fields];
  const encoded = new Uint8Array(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  const view = new DataView(encoded.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    encoded.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoded));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

/** The code for one pair of participants; both pass (mine, theirs) and get the same result. */
export async function safetyCode(input: {
  fingerprints: [string, string];
  nonces: [Uint8Array, Uint8Array];
}): Promise<SafetyCode> {
  const pairs = input.fingerprints.map((fingerprint, i) => {
    const nonce = input.nonces[i] ?? new Uint8Array();
    // An empty or short nonce would quietly fall back to the grindable fingerprint-only code.
    if (nonce.length !== NONCE_BYTES) throw new RangeError(`a nonce must be ${NONCE_BYTES} bytes`);
    return { fingerprint: fingerprintBytes(fingerprint), nonce };
  });
  pairs.sort((a, b) => compareBytes(a.fingerprint, b.fingerprint) || compareBytes(a.nonce, b.nonce));
  const hash = await domainHash(
    'treff safety number v1',
    ...pairs.flatMap(({ fingerprint, nonce }) => [fingerprint, nonce]),
  );
  if (hash.length !== SHA256_BYTES) throw new Error('unexpected digest length');
  return { digits: digitsOf(hash), ...emojiOf(hash) };
}

function digitsOf(hash: Uint8Array): string {
  const groups: string[] = [];
  for (let g = 0; g < DIGIT_GROUPS; g++) {
    let value = 0;
    for (const byte of hash.subarray(g * BYTES_PER_GROUP, (g + 1) * BYTES_PER_GROUP)) value = value * 256 + byte;
    groups.push(String(value % 100_000).padStart(5, '0'));
  }
  return groups.join(' ');
}

function emojiOf(hash: Uint8Array): Pick<SafetyCode, 'words' | 'names'> {
  let bits = 0n;
  for (const byte of hash.subarray(EMOJI_OFFSET, EMOJI_OFFSET + 6)) bits = (bits << 8n) | BigInt(byte);
  const words: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < EMOJI_COUNT; i++) {
    const [emoji, name] = EMOJI[Number((bits >> BigInt(42 - 6 * i)) & 63n)] ?? ['?', '?'];
    words.push(emoji);
    names.push(name);
  }
  return { words, names };
}

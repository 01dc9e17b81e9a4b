import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { de } from '../../client/i18n/de.js';
import { en } from '../../client/i18n/en.js';
import { EMOJI_NAMES, fingerprintOf, NONCE_BYTES, safetyCode } from '../../client/call/safety/safety-number.js';

const hexFingerprint = (bytes: number[]) =>
  bytes.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
const randomFingerprint = () => hexFingerprint([...randomBytes(32)]);
const nonce = () => new Uint8Array(randomBytes(NONCE_BYTES));

/** Flips one bit of a fingerprint: bit `bit` (0 = most significant) of byte `index`. */
function flipFingerprint(fingerprint: string, index: number, bit: number): string {
  const bytes = fingerprint.split(':').map((pair) => parseInt(pair, 16));
  bytes[index] = (bytes[index] ?? 0) ^ (0x80 >> bit);
  return hexFingerprint(bytes);
}
function flipNonce(value: Uint8Array, index: number, bit: number): Uint8Array {
  const copy = value.slice();
  copy[index] = (copy[index] ?? 0) ^ (0x80 >> bit);
  return copy;
}

// Known test vectors: computed once from the construction and written down, so any change to the label,
// the encoding, the ordering or the rendering shows up here. Change them only with a new label version.
const FP_A = hexFingerprint([...Array(32).keys()]); // 00:01:…:1F
const FP_B = hexFingerprint([...Array(32).keys()].map((i) => 255 - i)); // FF:FE:…:E0
const NONCE_A = new Uint8Array(32).fill(0x11);
const NONCE_B = new Uint8Array(32).fill(0x22);
const FP_C = '7B:3E:1C:9A:52:D4:08:6F:E1:27:B9:4C:90:AA:13:5D:F2:68:0E:C7:31:8B:45:DE:76:19:A3:5F:02:E8:BD:64';
const FP_D = 'C2:91:5A:0D:7F:E4:36:B8:21:6C:93:AF:48:05:DB:72:1E:C9:84:3B:F0:57:AE:12:69:D3:0A:8C:E5:47:B1:2F';
const NONCE_C = Uint8Array.from(Array(32).keys());
const NONCE_D = Uint8Array.from(Array(32).keys(), (i) => (i * 7 + 3) & 255);

describe('safetyCode: the number two participants read to each other', () => {
  it('matches the written-down test vectors', async () => {
    expect(await safetyCode({ fingerprints: [FP_A, FP_B], nonces: [NONCE_A, NONCE_B] })).toEqual({
      digits: '23045 28125 41188 67863 51006',
      words: ['🐙', '🎸', '📁', '☎️', '🏆', '🦄', '☁️'],
      names: ['Octopus', 'Guitar', 'Folder', 'Telephone', 'Trophy', 'Unicorn', 'Cloud'],
    });
    expect(await safetyCode({ fingerprints: [FP_C, FP_D], nonces: [NONCE_C, NONCE_D] })).toEqual({
      digits: '31141 83378 65031 13133 75854',
      words: ['☂️', '🦋', '🐧', '🔒', '🤖', '🎺', '🚲'],
      names: ['Umbrella', 'Butterfly', 'Penguin', 'Lock', 'Robot', 'Trumpet', 'Bicycle'],
    });
  });

  it('is SHA-256 over the label and the sorted, length-prefixed (fingerprint, nonce) pairs', async () => {
    // An independent re-derivation with node:crypto, as a reviewer would write it from the comment.
    const field = (bytes: Uint8Array | Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const fingerprint = (value: string) => Buffer.from(value.replaceAll(':', ''), 'hex');
    // FP_C < FP_D, so C's pair comes first whatever order the caller used.
    const hash = createHash('sha256')
      .update(field(Buffer.from('treff safety number v1')))
      .update(Buffer.concat([field(fingerprint(FP_C)), field(NONCE_C), field(fingerprint(FP_D)), field(NONCE_D)]))
      .digest();
    const groups = [0, 5, 10, 15, 20].map((at) => String(hash.readUIntBE(at, 5) % 100_000).padStart(5, '0'));
    const firstEmojiIndex = (hash[25] ?? 0) >> 2;

    const code = await safetyCode({ fingerprints: [FP_D, FP_C], nonces: [NONCE_D, NONCE_C] });
    expect(code.digits).toBe(groups.join(' '));
    expect(firstEmojiIndex).toBe(37); // Umbrella, the 38th entry of the Matrix SAS list
    expect(code.names[0]).toBe('Umbrella');
  });

  it('is the same on both sides: each passes (mine, theirs)', async () => {
    for (let round = 0; round < 20; round++) {
      const [alice, bob] = [randomFingerprint(), randomFingerprint()];
      const [nonceAlice, nonceBob] = [nonce(), nonce()];
      const seenByAlice = await safetyCode({ fingerprints: [alice, bob], nonces: [nonceAlice, nonceBob] });
      const seenByBob = await safetyCode({ fingerprints: [bob, alice], nonces: [nonceBob, nonceAlice] });
      expect(seenByBob).toEqual(seenByAlice);
    }
  });

  it('is stable: the same inputs always give the same code, whatever the case of the fingerprint', async () => {
    const first = await safetyCode({ fingerprints: [FP_C, FP_D], nonces: [NONCE_C, NONCE_D] });
    const again = await safetyCode({ fingerprints: [FP_C.toLowerCase(), FP_D], nonces: [NONCE_C, NONCE_D] });
    expect(again).toEqual(first);
  });

  it('changes completely when one bit of either fingerprint or either nonce changes', async () => {
    const base = { fingerprints: [FP_C, FP_D] as [string, string], nonces: [NONCE_C, NONCE_D] as [Uint8Array, Uint8Array] };
    const original = await safetyCode(base);
    const positions = [[0, 0], [13, 4], [31, 7]] as const;
    for (const [index, bit] of positions) {
      const variants = [
        { ...base, fingerprints: [flipFingerprint(FP_C, index, bit), FP_D] as [string, string] },
        { ...base, fingerprints: [FP_C, flipFingerprint(FP_D, index, bit)] as [string, string] },
        { ...base, nonces: [flipNonce(NONCE_C, index, bit), NONCE_D] as [Uint8Array, Uint8Array] },
        { ...base, nonces: [NONCE_C, flipNonce(NONCE_D, index, bit)] as [Uint8Array, Uint8Array] },
      ];
      for (const variant of variants) {
        const changed = await safetyCode(variant);
        expect(changed.digits).not.toBe(original.digits);
        expect(changed.words).not.toEqual(original.words);
      }
    }
  });

  it('binds each nonce to its own fingerprint: swapping the nonces changes the code', async () => {
    const original = await safetyCode({ fingerprints: [FP_C, FP_D], nonces: [NONCE_C, NONCE_D] });
    const swapped = await safetyCode({ fingerprints: [FP_C, FP_D], nonces: [NONCE_D, NONCE_C] });
    expect(swapped.digits).not.toBe(original.digits);
  });

  it('reads as five groups of five digits and seven named emoji', async () => {
    const code = await safetyCode({ fingerprints: [randomFingerprint(), randomFingerprint()], nonces: [nonce(), nonce()] });
    expect(code.digits).toMatch(/^\d{5}( \d{5}){4}$/);
    expect(code.words).toHaveLength(7);
    expect(code.names).toHaveLength(7);
  });

  it('refuses nonces of the wrong size and anything that is not a sha-256 fingerprint', async () => {
    await expect(safetyCode({ fingerprints: [FP_C, FP_D], nonces: [new Uint8Array(0), NONCE_D] })).rejects.toThrow(RangeError);
    await expect(safetyCode({ fingerprints: [FP_C, FP_D], nonces: [NONCE_C, new Uint8Array(31)] })).rejects.toThrow(RangeError);
    await expect(safetyCode({ fingerprints: [FP_C, 'AB:CD'], nonces: [NONCE_C, NONCE_D] })).rejects.toThrow(TypeError);
  });
});

describe('fingerprintOf: the certificate an SDP announces', () => {
  const sdp = (...lines: string[]) => lines.join('\r\n') + '\r\n';

  it('reads Chromium SDP, which repeats the fingerprint in every media section', () => {
    const offer = sdp(
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0 1 2',
      'a=extmap-allow-mixed',
      'a=msid-semantic: WMS',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:Yx3b',
      'a=ice-pwd:uGbF0QlWnSu4pwe9Wg8uWDlZ',
      'a=ice-options:trickle',
      `a=fingerprint:sha-256 ${FP_C}`,
      'a=setup:actpass',
      'a=mid:0',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
      `a=fingerprint:sha-256 ${FP_C}`,
      'a=setup:actpass',
      'a=mid:1',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      `a=fingerprint:sha-256 ${FP_C}`,
      'a=mid:2',
      'a=sctp-port:5000',
    );
    expect(fingerprintOf(offer)).toBe(FP_C);
  });

  it('reads Firefox SDP, which states it once at session level', () => {
    const answer = sdp(
      'v=0',
      'o=mozilla...THIS_IS_SDPARTA-128.0 5284015473227487326 0 IN IP4 0.0.0.0',
      's=-',
      't=0 0',
      `a=fingerprint:sha-256 ${FP_D}`,
      'a=group:BUNDLE 0 1 2',
      'a=ice-options:trickle',
      'a=msid-semantic:WMS *',
      'm=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101',
      'c=IN IP4 0.0.0.0',
      'a=setup:active',
      'a=mid:0',
    );
    expect(fingerprintOf(answer)).toBe(FP_D);
  });

  it('normalises to upper case and accepts LF line ends', () => {
    expect(fingerprintOf(`v=0\na=fingerprint:SHA-256 ${FP_C.toLowerCase()}\n`)).toBe(FP_C);
  });

  it('gives null without a sha-256 fingerprint, or when sections disagree', () => {
    expect(fingerprintOf(sdp('v=0', 's=-'))).toBeNull();
    expect(fingerprintOf(sdp('v=0', 'a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB'))).toBeNull();
    expect(fingerprintOf(sdp('v=0', `a=fingerprint:sha-256 ${FP_C}`, 'm=audio 9', `a=fingerprint:sha-256 ${FP_D}`))).toBeNull();
    expect(fingerprintOf(sdp('v=0', 'a=fingerprint:sha-256 7B:3E:1C'))).toBeNull();
  });
});

describe('the emoji names people read aloud', () => {
  it('are listed in every language in the order of the table, 64 distinct names each', () => {
    expect(en['security.emojiNames'].split(',')).toEqual(EMOJI_NAMES);
    for (const messages of [en, de]) {
      const names = messages['security.emojiNames'].split(',');
      expect(names).toHaveLength(64);
      expect(new Set(names).size).toBe(64);
    }
  });
});

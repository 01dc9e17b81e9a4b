// Commit-then-reveal over the data channel, after DTLS is up (issue 8). A pure state machine: the caller
// sends what it returns and shows the result.
//
// Each side sends H(label, its fingerprint, its nonce) first and reveals the nonce only once it holds the
// other side's commitment. A man in the middle runs two legs, one with each honest side, and on each leg
// must commit to its nonce before that leg's honest nonce is revealed to it; the honest nonce is fresh and
// random, so once the man in the middle has committed, that leg's code is uniformly random to it and
// independent of the other leg's. It cannot steer the two codes to collide: it gets exactly one blind guess
// (2^-42 for the emoji, 2^-83 for the digits), and a wrong guess shows as different codes to the people.
// The commitment binds the committer's fingerprint, so an honest commitment cannot be relayed to a leg
// where the man in the middle's certificate is seen.

import { parseVerifyMessage, type PeerVerifyMessage } from '../connection/peer-protocol.js';
import { domainHash, fingerprintBytes, NONCE_BYTES, safetyCode, type SafetyCode } from './safety-number.js';

export type VerifyFailure =
  /** The revealed nonce does not hash to the commitment: someone changed or forged a message. */
  | 'commitment-mismatch'
  /** A nonce arrived before its commitment: the commitment would bind nothing. */
  | 'reveal-before-commit'
  /** A second, different commitment or nonce: an attempt at a second guess. */
  | 'unexpected-message';

export type VerifyResult = { ok: true; code: SafetyCode } | { ok: false; reason: VerifyFailure };

export interface VerifyStep {
  /** Messages to send to the other participant, in order. */
  send: PeerVerifyMessage[];
  /** Present once, when verification ends; later steps are empty. */
  result?: VerifyResult;
}

export interface Verification {
  /** My commitment, to send when the data channel opens. Calling it again returns the same message. */
  start(): Promise<PeerVerifyMessage>;
  receive(message: PeerVerifyMessage): Promise<VerifyStep>;
}

const COMMIT_LABEL = 'treff verify commit v1';

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));

async function commitmentTo(fingerprint: Uint8Array, nonce: Uint8Array): Promise<string> {
  return toHex(await domainHash(COMMIT_LABEL, fingerprint, nonce));
}

const secureRandom = (length: number) => crypto.getRandomValues(new Uint8Array(length));

export function createVerification(
  myFingerprint: string,
  theirFingerprint: string,
  randomBytes: (length: number) => Uint8Array = secureRandom,
): Verification {
  const mine = fingerprintBytes(myFingerprint);
  const theirs = fingerprintBytes(theirFingerprint);
  const myNonce = randomBytes(NONCE_BYTES);
  if (myNonce.length !== NONCE_BYTES) throw new RangeError(`randomBytes must return ${NONCE_BYTES} bytes`);
  let myHash: Promise<string> | undefined;
  const myCommitment = () => (myHash ??= commitmentTo(mine, myNonce));
  const myCommit = async (): Promise<PeerVerifyMessage> => ({ type: 'verify-commit', commitment: await myCommitment() });
  const myReveal: PeerVerifyMessage = { type: 'verify-reveal', nonce: toHex(myNonce) };

  let started = false;
  let theirCommitment: string | undefined;
  let finished = false;
  // Hashing is async: steps run one after another so two quick messages cannot interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(step);
    queue = next.catch(() => undefined);
    return next;
  };

  const fail = (reason: VerifyFailure): VerifyStep => {
    finished = true;
    return { send: [], result: { ok: false, reason } };
  };

  async function onCommit(commitment: string): Promise<VerifyStep> {
    if (theirCommitment !== undefined) return commitment === theirCommitment ? { send: [] } : fail('unexpected-message');
    // My own commitment reflected back would make me reveal to no one.
    if (commitment === (await myCommitment())) return fail('unexpected-message');
    theirCommitment = commitment;
    // Their commitment may overtake my start() (data can arrive before the 'connect' event): commit, then reveal.
    const send = started ? [myReveal] : [await myCommit(), myReveal];
    started = true;
    return { send };
  }

  async function onReveal(nonceHex: string): Promise<VerifyStep> {
    if (theirCommitment === undefined) return fail('reveal-before-commit');
    const theirNonce = fromHex(nonceHex);
    if ((await commitmentTo(theirs, theirNonce)) !== theirCommitment) return fail('commitment-mismatch');
    finished = true;
    const code = await safetyCode({ fingerprints: [myFingerprint, theirFingerprint], nonces: [myNonce, theirNonce] });
    return { send: [], result: { ok: true, code } };
  }

  return {
    start: () =>
      serial(async () => {
        started = true;
        return myCommit();
      }),
    receive: (message) =>
      serial(async (): Promise<VerifyStep> => {
        if (finished) return { send: [] };
        const valid = parseVerifyMessage(message);
        if (!valid) return fail('unexpected-message');
        return valid.type === 'verify-commit' ? onCommit(valid.commitment) : onReveal(valid.nonce);
      }),
  };
}

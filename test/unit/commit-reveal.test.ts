import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseVerifyMessage, type PeerVerifyMessage } from '../../client/call/connection/peer-protocol.js';
import { createVerification, type Verification, type VerifyResult } from '../../client/call/safety/commit-reveal.js';

const hexFingerprint = (bytes: number[]) =>
  bytes.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
const randomFingerprint = () => hexFingerprint([...randomBytes(32)]);
const fixedNonce = (byte: number) => (length: number) => new Uint8Array(length).fill(byte);

const FP_ALICE = hexFingerprint([...Array(32).keys()]);
const FP_BOB = hexFingerprint([...Array(32).keys()].map((i) => 255 - i));
const HEX_A = '11'.repeat(32);

/** Two participants on a reliable, ordered data channel: each starts, then messages flow until both are done. */
async function call(alice: Verification, bob: Verification) {
  const results: { alice?: VerifyResult; bob?: VerifyResult } = {};
  const inbox: { to: 'alice' | 'bob'; message: PeerVerifyMessage }[] = [
    { to: 'bob', message: await alice.start() },
    { to: 'alice', message: await bob.start() },
  ];
  while (inbox.length > 0) {
    const { to, message } = inbox.shift()!;
    const step = await (to === 'alice' ? alice : bob).receive(message);
    if (step.result) results[to] = step.result;
    for (const reply of step.send) inbox.push({ to: to === 'alice' ? 'bob' : 'alice', message: reply });
  }
  return results;
}

describe('commit then reveal: two honest participants', () => {
  it('reach the same code through the exchange, the one of the written-down test vector', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB, fixedNonce(0x11));
    const bob = createVerification(FP_BOB, FP_ALICE, fixedNonce(0x22));
    expect(await alice.start()).toEqual({
      type: 'verify-commit',
      commitment: 'aca0daaeb31a242bfc944d9d5c5a084a2f17b6c37313a509949d8aaa3fecbf11',
    });
    const results = await call(alice, bob);
    expect(results.alice).toEqual(results.bob);
    expect(results.alice?.ok && results.alice.code.digits).toBe('23045 28125 41188 67863 51006');
  });

  it('reach the same fresh code with random nonces, different in every session', async () => {
    const first = await call(createVerification(FP_ALICE, FP_BOB), createVerification(FP_BOB, FP_ALICE));
    const second = await call(createVerification(FP_ALICE, FP_BOB), createVerification(FP_BOB, FP_ALICE));
    expect(first.alice?.ok).toBe(true);
    expect(first.alice).toEqual(first.bob);
    expect(second.alice).toEqual(second.bob);
    expect(second.alice).not.toEqual(first.alice);
  });

  it('copes with the other commitment arriving before this side started: it commits, then reveals', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    const bob = createVerification(FP_BOB, FP_ALICE);
    const step = await bob.receive(await alice.start());
    expect(step.send.map((m) => m.type)).toEqual(['verify-commit', 'verify-reveal']);
    const [commit, reveal] = step.send as [PeerVerifyMessage, PeerVerifyMessage];
    expect((await alice.receive(commit)).send.map((m) => m.type)).toEqual(['verify-reveal']);
    const done = await alice.receive(reveal);
    expect(done.result?.ok).toBe(true);
    expect(await bob.start()).toEqual(commit); // starting late repeats the same commitment
  });

  it('reveals nothing until the other commitment is in', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB, fixedNonce(0x11));
    const opening = await alice.start();
    expect(opening.type).toBe('verify-commit');
    expect(JSON.stringify(opening)).not.toContain(HEX_A);
  });
});

describe('commit then reveal: what is refused', () => {
  it('aborts with commitment-mismatch when a nonce does not hash to its commitment', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    const bob = createVerification(FP_BOB, FP_ALICE, fixedNonce(0x22));
    await alice.start();
    await alice.receive(await bob.start());
    const step = await alice.receive({ type: 'verify-reveal', nonce: '23'.repeat(32) });
    expect(step).toEqual({ send: [], result: { ok: false, reason: 'commitment-mismatch' } });
  });

  it('refuses a party that reveals before committing, and keeps its own nonce secret', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB, fixedNonce(0x11));
    await alice.start();
    const step = await alice.receive({ type: 'verify-reveal', nonce: '22'.repeat(32) });
    expect(step).toEqual({ send: [], result: { ok: false, reason: 'reveal-before-commit' } });
    // Once aborted it stays aborted: a commitment now gets no reveal in return.
    const late = await alice.receive({ type: 'verify-commit', commitment: 'ab'.repeat(32) });
    expect(late).toEqual({ send: [] });
  });

  it('ignores a repeated commitment but aborts on a second, different one', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    const bob = createVerification(FP_BOB, FP_ALICE);
    await alice.start();
    const commit = await bob.start();
    expect((await alice.receive(commit)).send).toHaveLength(1);
    expect(await alice.receive(commit)).toEqual({ send: [] });
    expect(await alice.receive({ type: 'verify-commit', commitment: 'cd'.repeat(32) })).toEqual({
      send: [],
      result: { ok: false, reason: 'unexpected-message' },
    });
  });

  it('reports the result once: a repeated reveal afterwards changes nothing', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    const bob = createVerification(FP_BOB, FP_ALICE);
    await alice.start();
    const reveal = (await bob.receive(await alice.start())).send.at(-1)!;
    await alice.receive(await bob.start());
    expect((await alice.receive(reveal)).result?.ok).toBe(true);
    expect(await alice.receive(reveal)).toEqual({ send: [] });
  });

  it('aborts when its own commitment is reflected back to it', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    const step = await alice.receive(await alice.start());
    expect(step).toEqual({ send: [], result: { ok: false, reason: 'unexpected-message' } });
  });

  it('aborts on a message that skipped validation', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    await alice.start();
    const garbage = { type: 'verify-reveal', nonce: 42 } as unknown as PeerVerifyMessage;
    expect((await alice.receive(garbage)).result).toEqual({ ok: false, reason: 'unexpected-message' });
  });

  it('handles messages delivered without waiting, in order', async () => {
    const alice = createVerification(FP_ALICE, FP_BOB);
    const bob = createVerification(FP_BOB, FP_ALICE);
    const bobCommit = await bob.start();
    const [commitStep] = await Promise.all([alice.receive(bobCommit), alice.start()]);
    const bobSteps = await Promise.all(commitStep.send.map((m) => bob.receive(m)));
    const bobReveal = bobSteps.flatMap((s) => s.send);
    const aliceDone = await alice.receive(bobReveal[0]!);
    expect(aliceDone.result).toEqual(bobSteps.at(-1)?.result);
  });
});

describe('parseVerifyMessage: the edge of the data channel', () => {
  it('accepts exactly the two message shapes', () => {
    expect(parseVerifyMessage({ type: 'verify-commit', commitment: 'ab'.repeat(32) })).toEqual({
      type: 'verify-commit',
      commitment: 'ab'.repeat(32),
    });
    expect(parseVerifyMessage({ type: 'verify-reveal', nonce: '0f'.repeat(32) })).toEqual({
      type: 'verify-reveal',
      nonce: '0f'.repeat(32),
    });
  });

  it.each([
    ['nothing', null],
    ['a string', 'verify-commit'],
    ['an array', [{ type: 'verify-commit', commitment: 'ab'.repeat(32) }]],
    ['another type', { type: 'media', audio: true, video: true }],
    ['a missing field', { type: 'verify-reveal' }],
    ['the wrong field', { type: 'verify-reveal', commitment: 'ab'.repeat(32) }],
    ['a number', { type: 'verify-commit', commitment: 12 }],
    ['upper-case hex', { type: 'verify-commit', commitment: 'AB'.repeat(32) }],
    ['63 digits', { type: 'verify-reveal', nonce: 'a'.repeat(63) }],
    ['65 digits', { type: 'verify-reveal', nonce: 'a'.repeat(65) }],
    ['a megabyte', { type: 'verify-reveal', nonce: 'a'.repeat(1 << 20) }],
    ['not hex', { type: 'verify-reveal', nonce: 'g'.repeat(64) }],
    ['an extra field', { type: 'verify-reveal', nonce: 'a'.repeat(64), from: 'bob' }],
  ])('rejects %s', (_, raw) => {
    expect(parseVerifyMessage(raw)).toBeNull();
  });
});

describe('a man in the middle (a malicious signalling server swapped the certificates)', () => {
  // Mallory terminates DTLS with each side under her own certificates and runs one verification per leg.
  async function attack() {
    const [mallorySeenByAlice, mallorySeenByBob] = [randomFingerprint(), randomFingerprint()];
    const alice = createVerification(FP_ALICE, mallorySeenByAlice);
    const bob = createVerification(FP_BOB, mallorySeenByBob);
    const towardAlice = createVerification(mallorySeenByAlice, FP_ALICE);
    const towardBob = createVerification(mallorySeenByBob, FP_BOB);
    const [withAlice, withBob] = await Promise.all([call(alice, towardAlice), call(towardBob, bob)]);
    return { alice: withAlice.alice, bob: withBob.bob };
  }

  it('leaves the two honest sides with different codes', async () => {
    for (let round = 0; round < 25; round++) {
      const { alice, bob } = await attack();
      if (!alice?.ok || !bob?.ok) throw new Error('both legs should complete');
      expect(alice.code.digits).not.toBe(bob.code.digits);
      expect(alice.code.words).not.toEqual(bob.code.words);
    }
  });

  it('cannot pass an honest commitment through: it binds the certificate Alice does not see', async () => {
    const mallory = randomFingerprint();
    const alice = createVerification(FP_ALICE, mallory);
    const bob = createVerification(FP_BOB, mallory);
    const [aliceCommit, bobCommit] = [await alice.start(), await bob.start()];
    const aliceReveal = (await alice.receive(bobCommit)).send.at(-1)!;
    const bobReveal = (await bob.receive(aliceCommit)).send.at(-1)!;
    expect((await alice.receive(bobReveal)).result).toEqual({ ok: false, reason: 'commitment-mismatch' });
    expect((await bob.receive(aliceReveal)).result).toEqual({ ok: false, reason: 'commitment-mismatch' });
  });

  it('cannot change its nonce after seeing Alice’s: the second guess is a mismatch', async () => {
    const mallory = randomFingerprint();
    const alice = createVerification(FP_ALICE, mallory);
    const malloryLeg = createVerification(mallory, FP_ALICE);
    await alice.start();
    const { send } = await alice.receive(await malloryLeg.start());
    expect(send.map((m) => m.type)).toEqual(['verify-reveal']); // Alice's nonce, now known to Mallory
    const steered = { type: 'verify-reveal', nonce: randomBytes(32).toString('hex') } as const;
    expect((await alice.receive(steered)).result).toEqual({ ok: false, reason: 'commitment-mismatch' });
  });
});

// Structure-aware fuzz (issue 11): 50,000 messages built on the protocol's own shapes
// (test/helpers/protocol-arbitraries.ts) over many sockets in shared and separate meetings, with
// close / reconnect with the resume token / rejoin / password joins / moderator actions / peer-lost /
// leave and the close-during-password-check race interleaved, against the real server running as
// its own process. Afterwards the process is alive, every refused message got its error code and
// every socket the server closed a close code, no meeting, participant, stored meeting or seat is
// left, the server's heap after a forced GC is back within 8 MB of its baseline, and three
// participants can still meet and relay their signals.
//
// The seed is fixed (printed in every failure); TREFF_FUZZ_SEED=<n> runs another,
// TREFF_FUZZ_REPLAY=<lane>:<scenario> one scenario alone. `npm run bench:fuzz` runs a million.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignalData } from '../../signal/protocol.js';
import {
  describeReport,
  fuzzSeed,
  replayTarget,
  runFuzz,
  seatsStillHeld,
  startFuzzTarget,
  waitForEmpty,
  type FuzzReport,
  type FuzzTarget,
} from '../helpers/protocol-arbitraries.js';
import { greetedClient, type TestClient } from '../helpers/server.js';

const MESSAGES = 50_000;
const LANES = 24;
// About 35 s on an idle 2-core machine; the bound leaves room for a loaded one.
const TIME_LIMIT_MS = 80_000;
/** Heap after a forced GC may exceed the warmed-up baseline by at most this much. */
const HEAP_MARGIN_BYTES = 8 * 1024 * 1024;
const RERUN = 'npx vitest run test/integration/fuzz-structured.test.ts';

describe('structure-aware fuzz of the live server process', () => {
  const seed = fuzzSeed();
  const only = replayTarget();
  let target: FuzzTarget;

  beforeAll(async () => {
    target = await startFuzzTarget();
  });
  afterAll(async () => {
    await target?.stop();
  });

  const alive = (report: FuzzReport) =>
    target.exit === undefined ||
    expect.fail(`the server process exited (${JSON.stringify(target.exit)})\n${describeReport(report, RERUN)}\n--- server output ---\n${target.output().slice(-4000)}`);

  it(`survives ${MESSAGES} structure-aware messages, gives back every seat and its memory, and three people still meet`, { timeout: 150_000 }, async () => {
    const stop = () => target.exit !== undefined;
    // Warm-up with another seed: the baseline then has the server's code compiled and its maps grown once.
    const warmup = await runFuzz({ wsUrl: target.wsUrl, seed: seed + 7919, messages: 2000, lanes: LANES, deadline: Date.now() + 30_000, stop });
    alive(warmup);
    expect(await waitForEmpty(target), describeReport(warmup, `${RERUN} (its warm-up: seed + 7919)`)).toEqual({ connections: 0, rooms: 0, participants: 0, storedMeetings: 0 });
    const before = await target.memoryAfterGc();

    const report = await runFuzz({ wsUrl: target.wsUrl, seed, messages: only ? Infinity : MESSAGES, lanes: LANES, deadline: Date.now() + TIME_LIMIT_MS, stop, ...(only ? { only } : {}) });
    const summary = describeReport(report, RERUN);
    console.log(summary);
    alive(report);
    // Every finding, of the warm-up too, is in the summary with its scenario to replay.
    expect(warmup.findings.length, describeReport(warmup, `${RERUN} (its warm-up: seed + 7919)`)).toBe(0);
    expect(report.findings.length, summary).toBe(0);
    if (!only) {
      expect(report.sent, `${summary}\nnot all messages were sent within ${TIME_LIMIT_MS} ms`).toBeGreaterThanOrEqual(MESSAGES);
      // The generator reached what it is for: relayed deep values, password races, interleaved refusals.
      expect(report.relayedDeep, summary).toBeGreaterThan(0);
      expect(report.passwordRaces, summary).toBeGreaterThan(0);
      expect(report.errors.get('bad-message') ?? 0, summary).toBeGreaterThan(1000);
    }

    // Nothing left behind: meetings, participants, sockets, stored meetings, held seats. When
    // something is left, every token is probed, to name the scenario that left it.
    const left = await waitForEmpty(target);
    const empty = { connections: 0, rooms: 0, participants: 0, storedMeetings: 0 };
    const held = await seatsStillHeld(target.wsUrl, report.tokens, JSON.stringify(left) === JSON.stringify(empty) ? 100 : Infinity);
    expect({ left, held }, `${summary}\nleft behind after the fuzz (held: the socket that got the token, lane:scenario#slot)`).toEqual({ left: empty, held: [] });
    expect(await waitForEmpty(target), summary).toEqual(empty);
    alive(report);

    const after = await target.memoryAfterGc();
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    console.log(`server heap after GC ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB, RSS ${mb(before.rss)} → ${mb(after.rss)} MB`);
    expect(after.heapUsed - before.heapUsed, `${summary}\nheap ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB`).toBeLessThan(HEAP_MARGIN_BYTES);

    // Three people meet and every offer, answer and candidate reaches the right one, unchanged.
    const people: TestClient[] = [];
    for (const name of ['Anna', 'Ben', 'Carla']) {
      const person = await greetedClient(target.wsUrl, name);
      const joined = await person.join('After the fuzz', name);
      expect(joined.participants.map((p) => p.id).sort()).toEqual(people.map((p) => p.id).sort());
      people.push(person);
    }
    for (const from of people) {
      for (const to of people) {
        if (from === to) continue;
        const signals: SignalData[] = [
          { type: 'offer', sdp: `v=0\r\no=- ${from.id} 1 IN IP4 127.0.0.1\r\n` },
          { type: 'candidate', candidate: { candidate: `candidate:1 1 udp 2122260223 192.0.2.1 ${people.indexOf(to) + 50000} typ host`, sdpMid: '0', sdpMLineIndex: 0 } },
        ];
        for (const data of signals) {
          from.send({ type: 'signal', to: to.id, data });
          expect(await to.next('signal', 5000)).toEqual({ type: 'signal', from: from.id, data });
        }
      }
    }
    for (const person of people) await person.close();
    expect(await waitForEmpty(target)).toEqual({ connections: 0, rooms: 0, participants: 0, storedMeetings: 0 });
    alive(report);
  });
});

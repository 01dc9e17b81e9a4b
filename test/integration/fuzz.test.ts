// A live server under a storm of random and mutated messages over many connections, while two
// participants in another meeting keep talking. It must stay up, answer them correctly
// throughout, and give its memory back afterwards.

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../signal/config.js';
import { PROTOCOL_VERSION } from '../../signal/protocol.js';
import { greetedClient, startTestServer, type TestClient, type TestServer } from '../helpers/server.js';

const MESSAGES = 110_000;
const CONNECTIONS = 40;
const TIME_LIMIT_MS = 50_000;
const MAX_MESSAGE_BYTES = 64 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ---- What the fuzzer throws ----

const id = fc.oneof(fc.string({ minLength: 0, maxLength: 20 }), fc.constantFrom('AAAAAAAAAAAA', '__proto__', 'constructor', ''));
const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('', ' ', '\u202E', '\u0000', 'a'.repeat(300), '<script>', '../../etc/passwd'));
// Big SDPs (near the protocol's limit) are rare: each costs the shared event loop a 50 KB parse.
const sdp = fc.oneof({ arbitrary: text, weight: 40 }, { arbitrary: fc.constant('v=0\r\na=fingerprint:sha-256 AA:BB\r\n'), weight: 10 }, { arbitrary: fc.constant('x'.repeat(50_000)), weight: 1 });
const signalData = fc.oneof(
  fc.record({ type: fc.constantFrom('offer', 'answer'), sdp }),
  fc.record({ type: fc.constant('candidate'), candidate: fc.record({ candidate: text, sdpMid: fc.option(text), sdpMLineIndex: fc.option(fc.integer()) }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant('renegotiate'), renegotiate: fc.boolean() }),
  fc.anything(),
);
/** Messages that look like the protocol: right types, random or borderline fields. */
// A hello with a wrong version ends the connection (4001), so it comes rarely: connections should live long enough to get deep.
const plausible = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('hello'), version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.integer(), fc.double(), text) }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('join'), room: fc.oneof(text, fc.constantFrom('fuzz-a', 'fuzz-b', 'Fuzz A')), name: text, password: fc.option(text) }, { requiredKeys: ['type'] }), weight: 6 },
  { arbitrary: fc.record({ type: fc.constant('signal'), to: id, data: signalData }, { requiredKeys: ['type'] }), weight: 6 },
  { arbitrary: fc.constantFrom({ type: 'leave' }, { type: 'ping' }, { type: 'mute-all' }), weight: 4 },
  { arbitrary: fc.record({ type: fc.constantFrom('set-password', 'make-moderator', 'remove', 'lock', 'lobby', 'admit', 'decline'), id, password: fc.option(text), locked: fc.anything(), enabled: fc.anything() }, { requiredKeys: ['type'] }), weight: 6 },
);
/** A plausible message, serialised, then damaged. */
const mutated = fc.tuple(plausible, fc.nat(), fc.string({ maxLength: 4 }), fc.constantFrom('truncate', 'insert', 'replace', 'duplicate', 'drop-key', 'wrong-value', 'deep')).map(([message, at, junk, how]) => {
  const json = JSON.stringify(message);
  const i = at % (json.length + 1);
  switch (how) {
    case 'truncate':
      return json.slice(0, i);
    case 'insert':
      return json.slice(0, i) + junk + json.slice(i);
    case 'replace':
      return json.slice(0, i) + junk + json.slice(i + junk.length);
    case 'duplicate':
      return json + json;
    case 'drop-key': {
      const keys = Object.keys(message);
      const copy: Record<string, unknown> = { ...message };
      delete copy[keys[at % keys.length]!];
      return JSON.stringify(copy);
    }
    case 'wrong-value': {
      const keys = Object.keys(message);
      return JSON.stringify({ ...message, [keys[at % keys.length]!]: [junk, { junk }, at] });
    }
    case 'deep':
      return '['.repeat(1 + (at % 5000)) + json + ']'.repeat(1 + (at % 5000));
  }
});
const randomFrame = fc.oneof(fc.json(), fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)));
/** Closes the connection (over maxMessageBytes): one in a thousand frames. */
const OVERSIZED = 'x'.repeat(MAX_MESSAGE_BYTES + 1);
const frame = fc.oneof({ arbitrary: plausible.map((m) => JSON.stringify(m)), weight: 4 }, { arbitrary: mutated, weight: 4 }, { arbitrary: randomFrame, weight: 2 });

// ---- The storm ----

interface StormReport {
  sent: number;
  connectionsOpened: number;
  closeCodes: Map<number, number>;
}

/** Sends until the server has received `messages` more frames (counted by its own metrics) or the deadline passes. */
async function storm(server: TestServer, messages: number, deadline: number, seedBase: number): Promise<StormReport> {
  const wsUrl = server.wsUrl;
  const received = () => server.server.counters.get('messagesReceived');
  const target = received() + messages;
  const report: StormReport = { sent: 0, connectionsOpened: 0, closeCodes: new Map() };
  let seed = seedBase;
  const open = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl);
      socket.on('close', (code) => report.closeCodes.set(code, (report.closeCodes.get(code) ?? 0) + 1));
      socket.once('open', () => {
        report.connectionsOpened++;
        // Most fuzzers greet first, so their messages get past the hello check into the rooms.
        if (report.connectionsOpened % 4 !== 0) socket.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION }));
        resolve(socket);
      });
      socket.once('error', reject);
    });
  const worker = async () => {
    let socket = await open();
    while (received() < target && Date.now() < deadline) {
      const batch = fc.sample(frame, { numRuns: 10, seed: seed++ });
      if (seed % 100 === 0) batch.push(OVERSIZED);
      for (const data of batch) {
        if (socket.readyState !== WebSocket.OPEN) {
          socket.terminate();
          socket = await open();
        }
        socket.send(data);
        report.sent++;
      }
      // Let the server (same thread) work through what was sent before sending more.
      while (socket.bufferedAmount > 256 * 1024 && socket.readyState === WebSocket.OPEN && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.close();
    await new Promise((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve(undefined) : socket.once('close', resolve)));
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return report;
}

/** Two participants keep exchanging offers and pings; every answer must be exactly right. */
async function conversation(ada: TestClient, bob: TestClient, isOver: () => boolean): Promise<{ rounds: number; slowestMs: number }> {
  let rounds = 0;
  let slowestMs = 0;
  while (!isOver()) {
    const started = Date.now();
    const data = { type: 'offer' as const, sdp: `v=0\r\no=- ${rounds} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n` };
    ada.send({ type: 'signal', to: bob.id, data });
    expect(await bob.next('signal', 5000)).toEqual({ type: 'signal', from: ada.id, data });
    bob.send({ type: 'ping' });
    expect(await bob.next('pong', 5000)).toEqual({ type: 'pong' });
    slowestMs = Math.max(slowestMs, Date.now() - started);
    rounds++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { rounds, slowestMs };
}

describe('fuzzing the live server', () => {
  let server: TestServer;
  const defaults = loadConfig({}, { staticDir: '' }).limits;

  beforeAll(async () => {
    // Limits loose enough that most messages reach the parser and the rooms: this test is about
    // what the server does with them (flood and connection limits have their own tests).
    server = await startTestServer({ maxMessageBytes: MAX_MESSAGE_BYTES, limits: { ...defaults, rate: { burst: 5000, perSecond: 5000 }, connectionsPerAddress: 1000 } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it(`survives ${MESSAGES} random and mutated messages while a meeting elsewhere goes on, and gives its memory back`, { timeout: 90_000 }, async () => {
    const ada = await greetedClient(server.wsUrl, 'ada');
    const bob = await greetedClient(server.wsUrl, 'bob');
    await ada.join('steady-meeting', 'Ada');
    await bob.join('steady-meeting', 'Bob');
    await conversation(ada, bob, (() => { let n = 0; return () => n++ >= 20; })());
    gc();
    gc();
    const before = process.memoryUsage();

    const settle = async () => {
      // Every fuzz socket is closed; the server forgets every fuzz meeting.
      const until = Date.now() + 10_000;
      while ((server.server.rooms.participantCount > 2 || server.server.rooms.roomCount > 1) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return process.memoryUsage();
    };
    const started = Date.now();
    // Two storms: memory after the second must match memory after the first (nothing accumulates),
    // and the heap must be back near where it was before either.
    const reports: StormReport[] = [];
    const memory: NodeJS.MemoryUsage[] = [];
    let stormOver = false;
    const [, talk] = await Promise.all([
      (async () => {
        for (const round of [1, 2]) {
          reports.push(await storm(server, MESSAGES / 2, started + TIME_LIMIT_MS, round * 1_000_000));
          memory.push(await settle());
        }
      })().finally(() => (stormOver = true)),
      conversation(ada, bob, () => stormOver),
    ]);
    const elapsed = Date.now() - started;
    const [afterFirst, after] = memory as [NodeJS.MemoryUsage, NodeJS.MemoryUsage];
    const report = { sent: reports[0]!.sent + reports[1]!.sent, connectionsOpened: reports[0]!.connectionsOpened + reports[1]!.connectionsOpened, closeCodes: new Map<number, number>() };
    for (const r of reports) for (const [code, n] of r.closeCodes) report.closeCodes.set(code, (report.closeCodes.get(code) ?? 0) + n);
    const received = server.server.counters.get('messagesReceived');
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    console.log(
      `fuzz: ${report.sent} messages sent (${received} received by the server) over ${report.connectionsOpened} connections in ${elapsed} ms; ` +
        `close codes ${JSON.stringify(Object.fromEntries(report.closeCodes))}; steady meeting: ${talk.rounds} round trips, slowest ${talk.slowestMs} ms; ` +
        `heap ${mb(before.heapUsed)} → ${mb(afterFirst.heapUsed)} → ${mb(after.heapUsed)} MB, RSS ${mb(before.rss)} → ${mb(afterFirst.rss)} → ${mb(after.rss)} MB`,
    );

    expect(report.sent).toBeGreaterThanOrEqual(100_000);
    expect(received).toBeGreaterThanOrEqual(100_000);
    expect(elapsed).toBeLessThan(60_000);
    expect(talk.rounds).toBeGreaterThan(20);
    // Generous: the storm, the server and these two share one event loop on a loaded CI machine.
    expect(talk.slowestMs).toBeLessThan(5000);
    // Still serving, and only the steady meeting is left.
    expect(await (await fetch(`${server.url}/healthz`)).text()).toBe('ok');
    expect([server.server.rooms.roomCount, server.server.rooms.participantCount]).toEqual([1, 2]);
    ada.send({ type: 'ping' });
    await expect(ada.next('pong')).resolves.toEqual({ type: 'pong' });
    // The heap holds the server and this test: back within a few MB of where it started.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(16 * 1024 * 1024);
    // RSS keeps the allocator's high-water mark after the first storm; a second one must not add to it.
    expect(after.rss - afterFirst.rss).toBeLessThan(32 * 1024 * 1024);
    await ada.close();
    await bob.close();
  });
});

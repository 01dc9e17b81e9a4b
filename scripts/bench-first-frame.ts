// Benchmark: time to first frame — from the moment the joining user presses Join to the first
// decoded remote video frame, with the breakdown of where the time goes.
//
//   npx tsx scripts/bench-first-frame.ts [--runs 20] [--sizes 2,4] [--json]
//
// Headless Chromium with fake camera and microphone, loopback, the real Treff server started in
// this process (test/helpers/server.ts) serving a client built into a temporary directory. One
// browser; every participant of every run gets a fresh incognito context, every run a fresh
// meeting. For a meeting of n people, n − 1 participants join first and wait until they see each
// other's video; then the last one opens the meeting link, types a name, waits until the Join
// button is enabled (camera ready), and presses it. Measured in that last joiner's page by a
// script added with evaluateOnNewDocument (the client is not modified): performance.now() at the
// click (capture phase), around getUserMedia, on the signalling WebSocket (created, open, `joined`),
// on every RTCPeerConnection (ICE checking/connected, connectionState connected = DTLS done),
// and the first frame of every `.tile.remote video` (requestVideoFrameCallback).
// Stages after the click follow the slowest link (for n = 4 the time to all three remote frames):
//   signalling = click → `joined`; negotiation = `joined` → last link's ICE checking, split into
//   offer made, and answer back with candidates (through the server and the other side); ICE = → last ICE connected; DTLS = → last connectionState
//   connected; first frame = → last remote video frame. They add up to the total.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { CHROMIUM_PATH, launchBrowser } from '../test/helpers/browser.js';
import { joinAs, waitForRemoteVideos } from '../test/helpers/meeting.js';
import { startTestServer } from '../test/helpers/server.js';
import { buildClient } from './build.js';

interface LinkMarks {
  created: number;
  /** signalingState have-local-offer (my offer is made) and then stable (the answer is applied). */
  offer?: number;
  answer?: number;
  ice_checking?: number;
  ice_connected?: number;
  pc_connected?: number;
}

interface PageMarks {
  domContentLoaded?: number;
  appRendered?: number;
  joinEnabled?: number;
  gum: Array<{ start: number; end: number }>;
  click?: number;
  ws: Array<{ created: number; open?: number; joined?: number }>;
  pcs: LinkMarks[];
  frames: Array<{ added: number; frame?: number; dims?: number }>;
}

/** Runs in the page before any of its scripts: wraps the browser APIs the client uses and records times. */
function instrument(): void {
  const now = () => window.performance.now();
  const marks: PageMarks = { gum: [], ws: [], pcs: [], frames: [] };
  (window as unknown as { __ff: PageMarks }).__ff = marks;

  document.addEventListener('DOMContentLoaded', () => (marks.domContentLoaded = now()));
  document.addEventListener(
    'click',
    (event) => {
      if (marks.click === undefined && (event.target as Element | null)?.closest?.('.join button.primary')) marks.click = now();
    },
    true,
  );

  const media = navigator.mediaDevices;
  if (media?.getUserMedia) {
    const native = media.getUserMedia.bind(media);
    media.getUserMedia = async (constraints?: MediaStreamConstraints) => {
      const entry: { start: number; end: number } = { start: now(), end: NaN };
      marks.gum.push(entry);
      try {
        return await native(constraints);
      } finally {
        entry.end = now();
      }
    };
  }

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      const entry: PageMarks['ws'][number] = { created: now() };
      marks.ws.push(entry);
      this.addEventListener('open', () => (entry.open = now()));
      this.addEventListener('message', (event: MessageEvent) => {
        if (entry.joined === undefined && typeof event.data === 'string' && event.data.includes('"type":"joined"')) entry.joined = now();
      });
    }
  };

  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(config?: RTCConfiguration) {
      super(config);
      const entry: LinkMarks = { created: now() };
      marks.pcs.push(entry);
      this.addEventListener('signalingstatechange', () => {
        if (this.signalingState === 'have-local-offer') entry.offer ??= now();
        if (this.signalingState === 'stable' && entry.offer !== undefined) entry.answer ??= now();
      });
      this.addEventListener('iceconnectionstatechange', () => {
        if (this.iceConnectionState === 'checking') entry.ice_checking ??= now();
        if (this.iceConnectionState === 'connected' || this.iceConnectionState === 'completed') entry.ice_connected ??= now();
      });
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') entry.pc_connected ??= now();
      });
    }
  } as typeof RTCPeerConnection;

  const seen = new WeakSet<HTMLVideoElement>();
  const watch = () => {
    if (marks.appRendered === undefined && document.getElementById('display-name')) marks.appRendered = now();
    if (marks.joinEnabled === undefined && document.querySelector('.join button.primary:not([disabled])')) marks.joinEnabled = now();
    for (const video of document.querySelectorAll<HTMLVideoElement>('.tile.remote video')) {
      if (seen.has(video)) continue;
      seen.add(video);
      const entry: PageMarks['frames'][number] = { added: now() };
      marks.frames.push(entry);
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => (entry.frame ??= now()));
      const poll = () => {
        if (video.videoWidth > 0) entry.dims ??= now();
        else if (now() < 60_000) setTimeout(poll, 5);
      };
      poll();
    }
  };
  new MutationObserver(watch).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['disabled', 'class'] });
}

interface RunResult {
  size: number;
  pageLoad: number;
  getUserMedia: number;
  joinReady: number;
  signalling: number;
  /** `joined` → my offers made (the last joiner offers to everyone present). */
  offer: number;
  /**
   * → ICE checking on every link: the offer through the server, the answer made on the other side
   * and back, candidates trickled. (Checking can start before the `stable` event is seen under
   * load, so answer and candidates are not split.)
   */
  answer: number;
  ice: number;
  dtls: number;
  firstFrame: number;
  total: number;
  /** Same total measured by videoWidth > 0 polling (every 5 ms) instead of requestVideoFrameCallback. */
  totalByDimensions: number;
}

const STAGES = ['pageLoad', 'getUserMedia', 'joinReady', 'signalling', 'offer', 'answer', 'ice', 'dtls', 'firstFrame', 'total', 'totalByDimensions'] as const;
const STAGE_LABEL: Record<(typeof STAGES)[number], string> = {
  pageLoad: 'before: page load (navigation → join screen rendered)',
  getUserMedia: 'before: getUserMedia',
  joinReady: 'before: navigation → Join enabled',
  signalling: 'signalling (click → `joined`)',
  offer: 'offer made (`joined` → have-local-offer)',
  answer: 'answer back and candidates (→ ICE checking)',
  ice: 'ICE (checking → connected)',
  dtls: 'DTLS (ICE connected → connectionState connected)',
  firstFrame: 'first frame (connected → decoded frame shown)',
  total: '**click → first remote frame (all remote frames)**',
  totalByDimensions: 'same, by videoWidth > 0 polling',
};

const maxOf = (values: Array<number | undefined>): number => (values.some((v) => v === undefined) ? NaN : Math.max(...(values as number[])));

function analyse(size: number, marks: PageMarks): RunResult {
  const click = marks.click ?? NaN;
  const ws = marks.ws.find((w) => w.created >= click) ?? marks.ws[marks.ws.length - 1];
  const joined = ws?.joined ?? NaN;
  const links = marks.pcs.filter((pc) => pc.created >= click);
  const offer = maxOf(links.map((l) => l.offer));
  const checking = maxOf(links.map((l) => l.ice_checking));
  const iceConnected = maxOf(links.map((l) => l.ice_connected));
  const dtls = maxOf(links.map((l) => l.pc_connected));
  const frame = maxOf(marks.frames.map((f) => f.frame ?? f.dims));
  const gum = marks.gum[0];
  return {
    size,
    pageLoad: marks.appRendered ?? NaN,
    getUserMedia: gum ? gum.end - gum.start : NaN,
    joinReady: marks.joinEnabled ?? NaN,
    signalling: joined - click,
    offer: offer - joined,
    answer: checking - offer,
    ice: iceConnected - checking,
    dtls: dtls - iceConnected,
    firstFrame: frame - dtls,
    total: frame - click,
    totalByDimensions: maxOf(marks.frames.map((f) => f.dims)) - click,
  };
}

async function runOnce(browser: Browser, baseUrl: string, size: number, run: number): Promise<RunResult> {
  const room = `first-frame-${size}-${Date.now().toString(36)}-${run}`;
  const contexts: BrowserContext[] = [];
  try {
    for (let i = 1; i < size; i++) {
      const context = await browser.createBrowserContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${baseUrl}/${room}`);
      await joinAs(page, `Early ${i}`);
      if (i > 1) await waitForRemoteVideos(page, i - 1, 20_000);
    }
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page: Page = await context.newPage();
    // tsx compiles this file with keepNames, which wraps functions and classes in __name(): define it in the page.
    await page.evaluateOnNewDocument('globalThis.__name = (target) => target;');
    await page.evaluateOnNewDocument(instrument);
    await page.goto(`${baseUrl}/${room}`);
    await page.waitForSelector('#display-name');
    await page.type('#display-name', 'Last');
    await page.waitForSelector('.join button.primary:not([disabled])', { timeout: 20_000 });
    await page.click('.join button.primary');
    const waitForFrames = page.waitForFunction(
      (expected) => {
        const frames = (window as unknown as { __ff: PageMarks }).__ff.frames;
        return frames.length === expected && frames.every((f) => f.frame !== undefined && f.dims !== undefined);
      },
      { timeout: 20_000, polling: 20 },
      size - 1,
    );
    await waitForFrames.catch(async (error: unknown) => {
      // Say what was reached, so a failed run can be understood from its one line.
      const state = await page
        .evaluate(() => ({ marks: (window as unknown as { __ff: PageMarks }).__ff, tiles: document.querySelectorAll('.tile').length, call: Boolean(document.querySelector('.call')) }))
        .catch(() => undefined);
      throw new Error(`${String(error)}; page state: ${JSON.stringify(state)}`);
    });
    const marks = await page.evaluate(() => (window as unknown as { __ff: PageMarks }).__ff);
    return analyse(size, marks);
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  }
}

const quantile = (values: number[], q: number) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  const runs = Math.min(100, Math.max(1, Number(arg('runs', '20'))));
  const sizes = arg('sizes', '2,4')
    .split(',')
    .map(Number)
    .filter((n) => n >= 2 && n <= 8);
  const json = argv.includes('--json');
  const started = performance.now();
  const deadline = started + 15 * 60_000;

  const outDir = mkdtempSync(join(tmpdir(), 'treff-first-frame-'));
  const built = await buildClient({ outDir });
  const server = await startTestServer({ staticDir: built.outDir });
  const browser = await launchBrowser('chromium');
  const version = await browser.version();
  const results: RunResult[] = [];
  const failures: string[] = [];
  try {
    for (const size of sizes) {
      // One warm-up meeting (not counted): the first page of a fresh browser pays one-off costs.
      await runOnce(browser, server.url, size, -1).catch((error: unknown) => failures.push(`warm-up ${size}: ${String(error)}`));
      for (let run = 0; run < runs && performance.now() < deadline; run++) {
        try {
          const result = await runOnce(browser, server.url, size, run);
          results.push(result);
          process.stderr.write(`${size} people, run ${run + 1}: ${result.total.toFixed(0)} ms (signalling ${result.signalling.toFixed(0)}, negotiation ${(result.offer + result.answer).toFixed(0)}, ICE+DTLS ${(result.ice + result.dtls).toFixed(0)}, frame ${result.firstFrame.toFixed(0)})\n`);
        } catch (error) {
          failures.push(`${size} people, run ${run + 1}: ${String(error)}`);
        }
      }
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(outDir, { recursive: true, force: true });
  }

  const goals: Record<number, number> = { 2: 250, 4: 600 };
  const lines = [
    `Time to first frame: ${version} (${CHROMIUM_PATH}), headless, fake devices, loopback, ${runs} runs per size; median / p90 in ms`,
    '',
    `| stage | ${sizes.map((s) => `${s} people: median / p90`).join(' | ')} |`,
    `|---|${sizes.map(() => '---').join('|')}|`,
    ...STAGES.map((stage) => `| ${STAGE_LABEL[stage]} | ${sizes.map((s) => {
      const values = results.filter((r) => r.size === s).map((r) => r[stage]);
      return `${quantile(values, 0.5).toFixed(0)} / ${quantile(values, 0.9).toFixed(0)}`;
    }).join(' | ')} |`),
    '',
    ...sizes.map((s) => {
      const own = results.filter((r) => r.size === s);
      const median = quantile(own.map((r) => r.total), 0.5);
      const goal = goals[s];
      return `${s} people: ${own.length} runs, median ${median.toFixed(0)} ms, min–max ${Math.min(...own.map((r) => r.total)).toFixed(0)}–${Math.max(...own.map((r) => r.total)).toFixed(0)} ms` +
        (goal ? `; goal ≤ ${goal} ms median: ${median <= goal ? 'met' : 'NOT met'}` : '');
    }),
    failures.length ? `Failed runs (${failures.length}): ${failures.join('; ')}` : 'No failed runs.',
    `Took ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  ];
  console.log(lines.join('\n'));
  if (json) console.log(JSON.stringify({ version, results, failures }, null, 2));
}

await main();

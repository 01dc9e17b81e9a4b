// Launches the Debian browsers through puppeteer-core with fake camera and microphone.

import puppeteer, { type Browser, type Page, type FrameWaitForFunctionOptions } from 'puppeteer-core';

/** Where recordPeerConnections keeps the page's connections (in the page). */
interface Recorded {
  __connections: RTCPeerConnection[];
  __connectionLog: string[];
  /** performance.now() when each connection (by index) first reached "connected". */
  __connectedAt: Array<number | undefined>;
}

export type BrowserKind = 'chromium' | 'firefox';

export const CHROMIUM_PATH = process.env.TREFF_CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.TREFF_FIREFOX ?? '/usr/bin/firefox-esr';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Background tabs must keep decoding video: three test pages share one window.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export interface LaunchOptions {
  /** Extra Chromium flags, e.g. to launch without fake devices. */
  args?: string[];
  /** Leave out the fake camera and microphone: the browser has no devices at all. */
  noDevices?: boolean;
  /** Another Chromium binary or a wrapper script (e.g. one that enters a network namespace). */
  executablePath?: string;
  /** Talk to the browser over a pipe instead of a TCP debugging port (needed across namespaces). */
  pipe?: boolean;
}

export async function launchBrowser(kind: BrowserKind = 'chromium', options: LaunchOptions = {}): Promise<Browser> {
  if (kind === 'firefox') {
    return puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      extraPrefsFirefox: {
        'media.navigator.streams.fake': !options.noDevices,
        'media.navigator.permission.disabled': true,
        'media.autoplay.default': 0,
        'media.peerconnection.ice.obfuscate_host_addresses': false,
      },
    });
  }
  const flags = CHROMIUM_FLAGS.filter((flag) => !(options.noDevices && flag === '--use-fake-device-for-media-stream'));
  return puppeteer.launch({
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    headless: true,
    pipe: options.pipe ?? false,
    args: [...flags, ...(options.args ?? [])],
  });
}

/**
 * Records every RTCPeerConnection the page creates, so a test can read the same getStats()
 * a user's browser would, without the app exposing anything for tests.
 */
export async function recordPeerConnections(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const Native = window.RTCPeerConnection;
    const connections: RTCPeerConnection[] = [];
    const log: string[] = [];
    const connectedAt: Array<number | undefined> = [];
    const started = performance.now();
    (window as unknown as Recorded).__connections = connections;
    (window as unknown as Recorded).__connectionLog = log;
    (window as unknown as Recorded).__connectedAt = connectedAt;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        const index = connections.push(this) - 1;
        // Every state change, for a failure's message: what happened to a connection, and when.
        const note = (what: string) => log.length < 500 && log.push(`${Math.round(performance.now() - started)}ms #${index} ${what}`);
        note(`created (${config?.iceTransportPolicy ?? 'all'})`);
        this.addEventListener('iceconnectionstatechange', () => note(`ice ${this.iceConnectionState}`));
        this.addEventListener('connectionstatechange', () => {
          note(`pc ${this.connectionState}`);
          if (this.connectionState === 'connected') connectedAt[index] ??= performance.now();
        });
        this.addEventListener('signalingstatechange', () => note(`signaling ${this.signalingState}`));
        this.addEventListener('icecandidateerror', (event) => note(`candidate error ${(event as RTCPeerConnectionIceErrorEvent).errorCode} ${(event as RTCPeerConnectionIceErrorEvent).url}`));
        // What the events may not show: the transports' own states, sampled.
        let last = '';
        const sample = setInterval(() => {
          const ice = this.sctp?.transport.iceTransport;
          const now = `transports ice=${ice?.state ?? '-'} dtls=${this.sctp?.transport.state ?? '-'} sctp=${this.sctp?.state ?? '-'}`;
          if (now !== last) note((last = now));
          if (this.connectionState === 'closed') clearInterval(sample);
        }, 250);
      }
    } as typeof RTCPeerConnection;
  });
}

/**
 * Runs `fn` in the page with every RTCPeerConnection it ever created (in creation order, closed
 * ones included: an index is a connection's identity), as recorded by recordPeerConnections.
 * `fn` runs in the browser: it can use only its arguments.
 */
export async function peerConnections<T, A extends unknown[]>(page: Page, fn: (connections: RTCPeerConnection[], ...args: A) => T | Promise<T>, ...args: A): Promise<T> {
  const handle = await page.evaluateHandle(() => (window as unknown as Recorded).__connections);
  try {
    return (await page.evaluate(fn as (connections: unknown, ...rest: unknown[]) => T | Promise<T>, handle, ...args)) as T;
  } finally {
    await handle.dispose().catch(() => undefined);
  }
}

/** The state changes of every recorded connection so far ("812ms #0 ice connected", …), for failure messages. */
export function connectionLog(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as Recorded).__connectionLog ?? []).catch((error: Error) => [`(no log: ${error.message})`]);
}

/** Waits in the page until `predicate` (given the recorded connections, as in peerConnections) holds. */
export async function waitForPeerConnections<A extends unknown[]>(
  page: Page,
  predicate: (connections: RTCPeerConnection[], ...args: A) => boolean | Promise<boolean>,
  options: FrameWaitForFunctionOptions,
  ...args: A
): Promise<void> {
  const handle = await page.evaluateHandle(() => (window as unknown as Recorded).__connections);
  try {
    await page.waitForFunction(predicate as (connections: unknown, ...rest: unknown[]) => boolean | Promise<boolean>, options, handle, ...args);
  } finally {
    await handle.dispose().catch(() => undefined);
  }
}

/**
 * Waits until every live recorded connection has been connected for at least `ms`, by the page's
 * own clock from the moment it connected (not from when the test looked): e.g. past a grace time.
 */
export async function waitForConnectedFor(page: Page, ms: number, { timeout = 60_000, atLeast = 1 } = {}): Promise<void> {
  await page
    .waitForFunction(
      (ms, atLeast) => {
        const { __connections: connections, __connectedAt: connectedAt } = window as unknown as Recorded;
        const live = connections.map((pc, index) => ({ pc, since: connectedAt[index] })).filter(({ pc }) => pc.connectionState !== 'closed');
        return live.length >= atLeast && live.every(({ pc, since }) => pc.connectionState === 'connected' && since !== undefined && performance.now() - since >= ms);
      },
      { timeout, polling: 200 },
      ms,
      atLeast,
    )
    .catch(async (error: Error) => {
      throw new Error(`connections not connected for ${ms} ms within ${timeout} ms: ${error.message}; log ${(await connectionLog(page)).join(', ')}`);
    });
}

/** Collects uncaught page errors and console errors, for asserting a clean run. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

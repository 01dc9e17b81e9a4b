// Launches the Debian browsers through puppeteer-core with fake camera and microphone.

import puppeteer, { type Browser, type Page } from 'puppeteer-core';

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
    (window as unknown as { __connections: RTCPeerConnection[] }).__connections = connections;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        connections.push(this);
      }
    } as typeof RTCPeerConnection;
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

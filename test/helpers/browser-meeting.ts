// One lifecycle for every browser test file: a real server on a free port, one Chromium shared by
// the file, and people (pages in browser contexts of their own) that end with the test that opened
// them, so a finished test's call does not keep encoding video under the next one.
//
//   describe('…', () => {
//     const meeting = useBrowserMeeting({ server: { seatGraceSeconds: 20 } });
//     it('…', async () => {
//       const anna = await meeting.open();
//       await startMeetingFromHome(anna, meeting.baseUrl, 'team');
//     });
//   });
//
// What is opened in beforeAll lives until the file's tests are done (a story told over several
// tests of one call); what a test opens is closed after it, unless keepPagesBetweenTests.

import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { collectPageErrors, launchBrowser, recordPeerConnections, type BrowserKind, type LaunchOptions } from './browser.js';
import { joinAs, startMeetingFromHome } from './meeting.js';
import { startTestServer, type TestServer, type TestServerOverrides } from './server.js';

export interface BrowserMeetingOptions {
  /**
   * The server's settings (staticDir defaults to the built client), or a function returning them,
   * called after the file's earlier beforeAll hooks (e.g. once a relay is up for iceServersFor).
   * `false`: the file runs its own server (a process it kills, a fuzz target) and has no baseUrl here.
   */
  server?: TestServerOverrides | (() => TestServerOverrides | Promise<TestServerOverrides>) | false;
  /** How the file's shared Chromium is launched (e.g. a flag trusting a certificate). */
  browser?: LaunchOptions;
  /** What a test opened stays open until the file ends: its tests continue one call. */
  keepPagesBetweenTests?: boolean;
}

export interface OpenOptions {
  /** Firefox, or Chromium launched differently: a browser of its own, closed with the page. */
  kind?: BrowserKind;
  launch?: LaunchOptions;
  /** A browser the test launched itself (e.g. inside an office's namespace); adopt() it to close it in time. */
  in?: Browser;
  /** A page in the browser's own (non-incognito) profile instead of a fresh context, e.g. to install the app. */
  defaultContext?: boolean;
  /** Record the page's RTCPeerConnections for peerConnections() (default true). */
  record?: boolean;
  /** Collect the page's errors into meeting.errors (default true). */
  collectErrors?: boolean;
}

export interface BrowserMeeting {
  /** The running server (not with server: false). */
  readonly server: TestServer;
  readonly baseUrl: string;
  /** Uncaught errors and console errors of every page opened with collectErrors. */
  readonly errors: string[];
  /** One person: a page in a fresh browser context (own storage), recording its connections. */
  open(options?: OpenOptions): Promise<Page>;
  /** open(), then the home page's Go for `meetingName` and Join as `name`. */
  join(name: string, meetingName: string, options?: OpenOptions & { baseUrl?: string }): Promise<Page>;
  /** The file's shared Chromium, launched on first use. */
  sharedBrowser(): Promise<Browser>;
  /** A browser of its own (closed with the test that launched it, or with the file). */
  launch(kind?: BrowserKind, options?: LaunchOptions): Promise<Browser>;
  /** Closes `thing` (a browser, context or page) when the current test (or, outside a test, the file) ends. */
  adopt<T extends Closable>(thing: T): T;
  /** Replaces the server (e.g. a restart on the same port); the old one must be closed by the caller. */
  replaceServer(server: TestServer): void;
}

type Closable = Browser | BrowserContext | Page;

export function useBrowserMeeting(options: BrowserMeetingOptions = {}): BrowserMeeting {
  let server: TestServer | undefined;
  let shared: Promise<Browser> | undefined;
  let inTest = false;
  const errors: string[] = [];
  const forFile: Closable[] = [];
  const forTest: Closable[] = [];
  const own = (thing: Closable) => (inTest && !options.keepPagesBetweenTests ? forTest : forFile).push(thing);
  const closeAll = (things: Closable[]) => Promise.all(things.splice(0).reverse().map((thing) => thing.close().catch(() => undefined)));

  beforeAll(async () => {
    if (options.server === false) return;
    const overrides = typeof options.server === 'function' ? await options.server() : (options.server ?? {});
    server = await startTestServer({ staticDir: 'dist/client', ...overrides });
  });
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    await closeAll(forTest);
  });
  afterAll(async () => {
    await closeAll(forTest);
    await closeAll(forFile);
    const browser = shared && (await shared.catch(() => undefined));
    shared = undefined;
    await browser?.close().catch(() => undefined);
    await server?.close();
  });

  const meeting: BrowserMeeting = {
    get server() {
      if (!server) throw new Error('useBrowserMeeting: no server (server: false, or beforeAll has not run)');
      return server;
    },
    get baseUrl() {
      return meeting.server.url;
    },
    errors,
    sharedBrowser() {
      shared ??= launchBrowser('chromium', options.browser);
      return shared;
    },
    async launch(kind = 'chromium', launchOptions = {}) {
      return meeting.adopt(await launchBrowser(kind, launchOptions));
    },
    adopt(thing) {
      own(thing);
      return thing;
    },
    async open({ kind, launch, in: given, defaultContext = false, record = true, collectErrors = true } = {}) {
      let page: Page;
      if (kind === 'firefox' || launch) {
        // A browser of its own per person: its settings differ from the shared one's.
        page = await (await meeting.launch(kind, launch)).newPage();
      } else if (defaultContext) {
        page = meeting.adopt(await (given ?? (await meeting.sharedBrowser())).newPage());
      } else {
        const context = await (given ?? (await meeting.sharedBrowser())).createBrowserContext();
        own(context);
        page = await context.newPage();
      }
      if (record) await recordPeerConnections(page);
      if (collectErrors) errors.push(...collectPageErrors(page));
      return page;
    },
    async join(name, meetingName, { baseUrl, ...openOptions } = {}) {
      const page = await meeting.open(openOptions);
      await startMeetingFromHome(page, baseUrl ?? meeting.baseUrl, meetingName);
      await joinAs(page, name);
      return page;
    },
    replaceServer(next) {
      server = next;
    },
  };
  return meeting;
}

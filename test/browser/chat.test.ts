// Chat and raised hands go peer to peer over the data channels. Three people (one of them named
// with HTML) chat through the UI; a forged or oversized message from a tampered browser is
// attributed to the connection it came on or dropped; a newcomer gets no history.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, recordPeerConnections, type BrowserKind } from '../helpers/browser.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const HTML_NAME = '<img src=x onerror=alert(1)>';
const HTML_MESSAGE = '<img src=x onerror=alert(2)><b>bold</b><script>alert(3)</script>';

interface Line {
  name: string;
  text: string;
  time: string;
}

async function openChat(page: Page): Promise<void> {
  if (await page.$('.chat')) return;
  await page.click('.controls button[aria-label^="Chat"]');
  await page.waitForSelector('.chat textarea');
}

async function say(page: Page, text: string): Promise<void> {
  await openChat(page);
  await page.type('.chat textarea', text);
  await page.keyboard.press('Enter');
}

async function chatLines(page: Page): Promise<Line[]> {
  return page.$$eval('.chat-log li[data-from]', (items) =>
    items.map((item) => ({
      name: item.querySelector('.chat-name')?.textContent ?? '',
      text: item.querySelector('.chat-text')?.textContent ?? '',
      time: item.querySelector('time')?.textContent ?? '',
    })),
  );
}

async function waitForLine(page: Page, text: string): Promise<Line> {
  await openChat(page);
  await page.waitForFunction((wanted) => [...document.querySelectorAll('.chat-text')].some((p) => p.textContent === wanted), { timeout: 5000 }, text);
  return (await chatLines(page)).find((line) => line.text === text)!;
}

/** Rewrites what this page sends over its data channels, as a tampered browser could. */
async function tamperOutgoingChat(page: Page, rewrite: string | null): Promise<void> {
  await page.evaluate((source) => {
    const proto = RTCDataChannel.prototype as RTCDataChannel & { __send?: RTCDataChannel['send'] };
    proto.__send ??= proto.send;
    const original = proto.__send as (this: RTCDataChannel, data: string) => void;
    const change = source ? (new Function('message', source) as (message: Record<string, unknown>) => Record<string, unknown>) : null;
    proto.send = function (this: RTCDataChannel, data: string) {
      const message = typeof data === 'string' ? (JSON.parse(data) as Record<string, unknown>) : null;
      return original.call(this, message?.type === 'chat' && change ? JSON.stringify(change(message)) : data);
    } as RTCDataChannel['send'];
  }, rewrite);
}

describe('chat and raised hands in a three-person meeting', () => {
  let server: TestServer;
  let browser: Browser;
  const pages: Record<'anna' | 'ben' | 'carla', Page> = {} as never;
  const errors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
    browser = await launchBrowser('chromium');
    for (const who of ['anna', 'ben', 'carla'] as const) {
      const page = await (await browser.createBrowserContext()).newPage();
      await recordPeerConnections(page);
      errors.push(...collectPageErrors(page));
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      pages[who] = page;
    }
    await startMeetingFromHome(pages.anna, server.url, 'chat room');
    await joinAs(pages.anna, 'Anna');
    await startMeetingFromHome(pages.ben, server.url, 'chat room');
    await joinAs(pages.ben, 'Ben');
    await startMeetingFromHome(pages.carla, server.url, 'chat room');
    await joinAs(pages.carla, HTML_NAME);
    for (const page of Object.values(pages)) await waitForRemoteVideos(page, 2);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('delivers a message to everyone, with the sender name and the time, and counts it as unread until the chat is opened', async () => {
    await say(pages.anna, 'Hello everyone');
    for (const page of [pages.ben, pages.carla]) {
      await page.waitForSelector('.controls button[aria-label="Chat (1 unread)"] .unread', { timeout: 5000 });
      const line = await waitForLine(page, 'Hello everyone');
      expect(line.name).toBe('Anna');
      expect(line.time).toMatch(/^\d{1,2}:\d{2}/);
      expect(await page.$('.controls button[aria-label="Chat"]')).not.toBeNull();
    }
    const own = await waitForLine(pages.anna, 'Hello everyone');
    expect(own.name).toBe('Anna (You)');
    expect(await pages.ben.$eval('.chat', (chat) => chat.textContent)).toContain('whoever joins later does not see earlier messages');
  });

  it('shows HTML in a chat message and in a display name as literal text', async () => {
    await say(pages.carla, HTML_MESSAGE);
    for (const page of [pages.anna, pages.ben]) {
      const line = await waitForLine(page, HTML_MESSAGE);
      expect(line.name).toBe(HTML_NAME);
      expect(await page.$$eval('.tile.remote .name', (names) => names.map((n) => n.textContent))).toContain(HTML_NAME);
      expect(await page.$$('img')).toHaveLength(0);
      expect(await page.$$('.chat-log b, .chat-log script, .tile b')).toHaveLength(0);
    }
    expect(dialogs).toEqual([]);
  });

  it('attributes a message to the connection it came on, whatever name it claims', async () => {
    await tamperOutgoingChat(pages.ben, "return { ...message, name: 'Anna', from: 'anna', sender: 'Anna' };");
    await say(pages.ben, 'I am Anna, trust me');
    for (const page of [pages.anna, pages.carla]) expect((await waitForLine(page, 'I am Anna, trust me')).name).toBe('Ben');
  });

  it('drops a message that is too long or carries control characters, and keeps the chat going', async () => {
    await tamperOutgoingChat(pages.ben, "return { ...message, text: message.text === 'long' ? 'x'.repeat(2001) : 'bidi \\u202e spoof' };");
    await say(pages.ben, 'long');
    await say(pages.ben, 'bidi');
    await tamperOutgoingChat(pages.ben, null);
    await say(pages.ben, 'after the bad ones');
    for (const page of [pages.anna, pages.carla]) {
      await waitForLine(page, 'after the bad ones');
      const texts = (await chatLines(page)).map((line) => line.text);
      expect(texts.some((text) => text.startsWith('xxx') || text.includes('spoof'))).toBe(false);
    }
  });

  it('shows a raised hand on the tile and in the list of raised hands, and takes it down again', async () => {
    await pages.ben.click('.controls button[aria-label="Raise hand"]');
    for (const page of [pages.anna, pages.carla]) {
      await page.waitForFunction(() =>
        [...document.querySelectorAll('.tile.remote')].some((tile) => tile.querySelector('.name')?.textContent === 'Ben' && tile.querySelector('[data-badge="hand"]')),
      );
      expect(await page.$eval('.hands', (list) => list.textContent)).toContain('Ben');
    }
    expect(await pages.ben.$('.controls button[aria-label="Lower hand"][aria-pressed="true"]')).not.toBeNull();
    await pages.ben.click('.controls button[aria-label="Lower hand"]');
    for (const page of [pages.anna, pages.carla]) {
      await page.waitForFunction(() => !document.querySelector('[data-badge="hand"]') && !document.querySelector('.hands'));
    }
  });

  it('gives someone who joins later an empty chat (no history), and includes them from then on', async () => {
    const dana = await (await browser.createBrowserContext()).newPage();
    errors.push(...collectPageErrors(dana));
    await startMeetingFromHome(dana, server.url, 'chat room');
    await joinAs(dana, 'Dana');
    await waitForRemoteVideos(dana, 3);
    await openChat(dana);
    expect(await chatLines(dana)).toEqual([]);
    expect(await dana.$eval('.chat-log', (log) => log.textContent)).toContain('No messages yet.');
    await say(pages.anna, 'Welcome, Dana');
    expect((await waitForLine(dana, 'Welcome, Dana')).name).toBe('Anna');
  });

  it('ran without page errors or dialogs', () => {
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});

describe('chat between Chromium and Firefox', () => {
  let server: TestServer;
  const browsers: Browser[] = [];
  const errors: string[] = [];

  async function openPage(kind: BrowserKind): Promise<Page> {
    const browser = await launchBrowser(kind);
    browsers.push(browser);
    const page = await browser.newPage();
    errors.push(...collectPageErrors(page));
    return page;
  }

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
  });

  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    await server?.close();
  });

  it('carries messages both ways and shows a raised hand', async () => {
    const chromium = await openPage('chromium');
    const firefox = await openPage('firefox');
    await startMeetingFromHome(chromium, server.url, 'chat-across');
    await joinAs(chromium, 'Chromium user');
    await startMeetingFromHome(firefox, server.url, 'chat-across');
    await joinAs(firefox, 'Firefox user');
    await waitForRemoteVideos(chromium, 1);
    await waitForRemoteVideos(firefox, 1);

    await say(chromium, 'Hello from Chromium');
    expect((await waitForLine(firefox, 'Hello from Chromium')).name).toBe('Chromium user');
    await say(firefox, 'Hello from Firefox <b>');
    expect((await waitForLine(chromium, 'Hello from Firefox <b>')).name).toBe('Firefox user');

    await firefox.click('.controls button[aria-label="Raise hand"]');
    await chromium.waitForSelector('.tile.remote [data-badge="hand"]', { timeout: 5000 });
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});

// Two offices behind real firewalls (network namespaces + nftables) meet through the UI.
// Nobody forces the relay: ICE must find it by itself when direct paths are blocked.

import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../../turn/relay.js';
import { connectionLog, peerConnections } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { connectionReports, joinAs, setCheckbox, startMeetingFromHome, waitForRemoteVideos, type ConnectionReport } from '../helpers/meeting.js';
import { SERVER_IP, createOfficeNetwork, officeIp, destroyOfficeNetwork, launchChromiumInOffice, setFirewall, type FirewallPolicy, type OfficeName, type OfficePorts } from '../helpers/office.js';
import { startOfficeRelay, type OfficeRelay } from '../helpers/office-relay.js';

describe('firewalled offices', { timeout: 90_000 }, () => {
  let officeRelay: OfficeRelay;
  let relay: Relay;
  let ports: OfficePorts;
  /** Chromium checks the relay's TLS certificate like any other: the offices trust our test certificate. */
  let trustRelayCertificate: string;
  const relayLog: string[] = [];
  const consoles = new WeakMap<Page, string[]>();

  beforeAll(async () => {
    createOfficeNetwork();
    officeRelay = await startOfficeRelay((line) => relayLog.push(line));
    relay = officeRelay.relay;
    trustRelayCertificate = officeRelay.trustCertificateArg;
  });

  afterAll(async () => {
    await officeRelay?.stop();
    destroyOfficeNetwork();
  });

  // Each test's call ends with it (the helper closes its browsers): two Chromiums per finished test,
  // still encoding and decoding video, made the later tests several times slower (the TLS one past its 90 s in CI).
  const meeting = useBrowserMeeting({ server: () => ({ host: '0.0.0.0', iceServersFor: relay.iceServersFor }) });
  let server: { port: number };
  beforeAll(() => {
    server = meeting.server;
    ports = { signalling: server.port, relay: officeRelay.port, relayTls: officeRelay.tlsPort };
  });

  /** A person in a Chromium of their own inside the office (closed with the test). */
  async function inOffice(office: OfficeName, origin: string): Promise<Page> {
    const browser = meeting.adopt(await launchChromiumInOffice(office, origin, [trustRelayCertificate]));
    return meeting.open({ in: browser, defaultContext: true, collectErrors: false });
  }

  async function meetBetweenOffices(policy: FirewallPolicy, { annaRelayOnly = false } = {}): Promise<{ reports: Record<OfficeName, ConnectionReport>; firstFrameMs: number; badges: string[]; remoteAddressesSeenByBen: string[] }> {
    setFirewall('a', policy, ports);
    setFirewall('b', policy, ports);
    const origin = `http://${SERVER_IP}:${server.port}`;
    const [anna, ben] = await Promise.all((['a', 'b'] as const).map(async (office) => {
      const page = await inOffice(office, origin);
      // The app's warnings (a connection that failed, and why) go into a failure's message.
      const said: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'warn' || message.type() === 'error') said.push(`${message.type()}: ${message.text()}`);
      });
      consoles.set(page, said);
      return page;
    }));
    const meeting = `office-${policy}${annaRelayOnly ? '-private' : ''}`;
    await startMeetingFromHome(anna!, origin, meeting);
    if (annaRelayOnly) await setCheckbox(anna!, '#relay-only', true);
    await joinAs(anna!, 'Anna in office A');
    await startMeetingFromHome(ben!, origin, meeting);
    const joined = Date.now();
    await joinAs(ben!, 'Ben in office B');
    await waitForRemoteVideos(ben!, 1, 30_000);
    const firstFrameMs = Date.now() - joined;
    await waitForRemoteVideos(anna!, 1, 30_000);
    // The badge appears once the page has read its selected candidate pair: read the reports after it.
    const badges = await Promise.all(
      [anna!, ben!].map(async (page) => {
        await page.waitForSelector('.tile.remote .path', { timeout: 25_000 }).catch(async (error: Error) => {
          // What the page showed instead, and what its connection said: a stuck state must be diagnosable from the CI log.
          const shown = await page.$$eval('.tile.remote', (tiles) => tiles.map((tile) => `${tile.getAttribute('data-connection')}: ${tile.textContent}`));
          const states = await peerConnections(page, (connections) => connections.map((pc) => `${pc.iceConnectionState}/${pc.connectionState}`));
          throw new Error(`${error.message}; tiles ${JSON.stringify(shown)}; connections ${states.join(', ')}; console ${JSON.stringify(consoles.get(page))}; log ${(await connectionLog(page)).join(', ')}`);
        });
        return page.$eval('.tile.remote .path', (badge) => `${badge.getAttribute('data-path')}/${badge.getAttribute('data-protocol')}`);
      }),
    );
    const [a] = await connectionReports(anna!);
    const [b] = await connectionReports(ben!);
    console.log(`${policy}: first remote frame ${firstFrameMs} ms after Join; paths ${a?.candidateTypes.join('-')} (${a?.relayProtocol ?? 'direct'}), ${b?.candidateTypes.join('-')} (${b?.relayProtocol ?? 'direct'})`);
    const remoteAddressesSeenByBen = await peerConnections(ben!, async (connections) => {
      const [pc] = connections.filter((c) => c.connectionState !== 'closed');
      return [...(await pc!.getStats()).values()].filter((s) => s.type === 'remote-candidate').map((s) => String(s.address ?? s.ip));
    });
    return { reports: { a: a!, b: b! }, firstFrameMs, badges, remoteAddressesSeenByBen };
  }

  async function connectionCheckInOffice(policy: FirewallPolicy): Promise<{ verdict: string | null; statuses: Record<string, string> }> {
    setFirewall('a', policy, ports);
    const origin = `http://${SERVER_IP}:${server.port}`;
    const page = await inOffice('a', origin);
    await page.goto(origin + '/');
    await page.click('a[href="/-/check"]');
    await page.waitForSelector('[data-verdict]', { timeout: 45_000 });
    const result = await page.evaluate(() => ({
      verdict: document.querySelector('[data-verdict]')?.getAttribute('data-verdict') ?? null,
      statuses: Object.fromEntries([...document.querySelectorAll('[data-check]')].map((item) => [item.getAttribute('data-check'), item.getAttribute('data-status')])),
    }));
    await page.browser().close();
    return result as { verdict: string | null; statuses: Record<string, string> };
  }

  it('starts the relay from the generated configuration without configuration errors', () => {
    const log = relayLog.join('\n');
    expect(log).not.toMatch(/Wrong address format|CONFIG ERROR|CONFIGURATION ALERT/);
    expect(relay.running).toBe(true);
  });

  it('connects directly when nothing is blocked: the relay is only the fallback', async () => {
    const { reports, badges } = await meetBetweenOffices('open');
    for (const report of Object.values(reports)) {
      expect(report.dtlsState).toBe('connected');
      expect(report.candidateTypes).toEqual(['host', 'host']);
    }
    expect(badges).toEqual(['direct/udp', 'direct/udp']);
  });

  it('hides the address of someone who chose "relay only", even where a direct path exists', async () => {
    const { reports, remoteAddressesSeenByBen } = await meetBetweenOffices('open', { annaRelayOnly: true });
    expect(reports.a.candidateTypes[0]).toBe('relay');
    expect(reports.b.candidateTypes[1]).toBe('relay');
    expect(remoteAddressesSeenByBen.length).toBeGreaterThan(0);
    expect(remoteAddressesSeenByBen.every((address) => address === SERVER_IP)).toBe(true);
    expect(remoteAddressesSeenByBen).not.toContain(officeIp('a'));
  });

  it("relays over UDP when the offices let UDP out only to the relay's port", async () => {
    const { reports, badges } = await meetBetweenOffices('udp-relay-only');
    for (const report of Object.values(reports)) {
      expect(report.dtlsState).toBe('connected');
      expect(report.framesDecoded).toBeGreaterThan(0);
      expect(report.candidateTypes[0]).toBe('relay');
      expect(report.relayProtocol).toBe('udp');
    }
    expect(badges).toEqual(['relayed/udp', 'relayed/udp']);
  });

  it("relays over TCP to the relay's port when the offices block all UDP", async () => {
    const { reports, badges } = await meetBetweenOffices('tcp-relay-only');
    for (const report of Object.values(reports)) {
      expect(report.dtlsState).toBe('connected');
      expect(report.framesDecoded).toBeGreaterThan(0);
      expect(report.candidateTypes[0]).toBe('relay');
      expect(report.relayProtocol).toBe('tcp');
    }
    expect(badges).toEqual(['relayed/tcp', 'relayed/tcp']);
  });

  it('relays over TLS when only the TLS port gets out', async () => {
    const { reports, badges } = await meetBetweenOffices('tls-relay-only');
    for (const report of Object.values(reports)) {
      expect(report.dtlsState).toBe('connected');
      expect(report.framesDecoded).toBeGreaterThan(0);
      expect(report.candidateTypes[0]).toBe('relay');
      expect(report.relayProtocol).toBe('tls');
    }
    expect(badges).toEqual(['relayed/tls', 'relayed/tls']);
  });

  it('the connection check tells an office without UDP that calls go over TCP to the relay', async () => {
    const { verdict, statuses } = await connectionCheckInOffice('tcp-relay-only');
    expect(statuses).toEqual({ signalling: 'ok', udp: 'failed', 'turn-udp': 'failed', 'turn-tcp': 'ok', turns: 'failed' });
    expect(verdict).toBe('relay-tcp');
  });

  it('the connection check tells an office that lets only TLS out that calls go over TLS', async () => {
    const { verdict, statuses } = await connectionCheckInOffice('tls-relay-only');
    expect(statuses).toEqual({ signalling: 'ok', udp: 'failed', 'turn-udp': 'failed', 'turn-tcp': 'failed', turns: 'ok' });
    expect(verdict).toBe('relay-tls');
  });

  it('the connection check finds everything working in an open office', async () => {
    const { verdict, statuses } = await connectionCheckInOffice('open');
    expect(statuses).toEqual({ signalling: 'ok', udp: 'ok', 'turn-udp': 'ok', 'turn-tcp': 'ok', turns: 'ok' });
    expect(verdict).toBe('all-good');
  });
});

// The real coturn 4.6.1 from Treff's generated configuration, probed with coturn's own clients.
// Port 10000 is fixed, as in production: test files run one at a time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIED_PEER_RANGES } from '../../turn/config.js';
import { mintTurnCredentials } from '../../signal/turn-credentials.js';
import { TURN_HOST, TURN_SECRET, allocate, restCredentials, startEchoPeer, startTestCoturn, uclient, type TestCoturn } from '../helpers/coturn.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const FORBIDDEN = 'channel bind: error 403 (Forbidden IP)';
/** Relay to `peer` with REST credentials from the secret; one message, no RTCP allocation. */
const relayTo = (peer: string, extra: string[] = [], server?: string) =>
  uclient(['-v', '-W', TURN_SECRET, '-n', '1', '-c', '-e', peer, ...extra], { timeoutMs: 5000, server });

describe('production profile', () => {
  let turn: TestCoturn;
  beforeAll(async () => {
    turn = await startTestCoturn();
  });
  afterAll(() => turn?.close());

  it('starts with every denied range taken and no configuration error', () => {
    const log = turn.logLines.join('\n');
    expect(log).not.toContain('Wrong address format');
    expect(log).not.toMatch(/CONFIG ERROR/);
    for (const range of DENIED_PEER_RANGES) expect(turn.logLines).toContain(`[turn] 0: : Black listing: ${range}`);
    expect(turn.logLines).toContain(`[turn] 0: : White listing: ${TURN_HOST}`);
    expect(log).not.toMatch(/allow_loopback_peers/);
  });

  it('allocates a relay for credentials minted by Treff, over UDP', async () => {
    const { username, credential } = mintTurnCredentials(TURN_SECRET, 'p-udp', 600, Date.now());
    expect(await allocate(username, credential)).toEqual({ status: 200 });
    const run = await relayTo('192.0.2.1');
    expect(run.output).toMatch(/IPv4\. Received relay addr: 127\.0\.0\.1:\d+/);
  });

  it('allocates a relay over TCP on the same port', async () => {
    const run = await uclient(['-t', '-v', '-W', TURN_SECRET, '-n', '1', '-c', '-e', '192.0.2.1'], { timeoutMs: 5000 });
    expect(run.output).toMatch(/IPv4\. Connected to: 127\.0\.0\.1:10000/);
    expect(run.output).toMatch(/IPv4\. Received relay addr: 127\.0\.0\.1:\d+/);
  });

  it('rejects credentials signed with another secret (401)', async () => {
    const forged = await restCredentials(nowSeconds() + 600, 'mallory', 'not-the-secret-of-this-relay');
    expect(await allocate(forged.username, forged.password)).toEqual({ status: 401 });
    const run = await uclient(['-W', 'not-the-secret-of-this-relay', '-n', '1', '-c', '-e', '192.0.2.1'], { timeoutMs: 5000 });
    expect(run.output).toContain('Cannot complete Allocation');
    expect(run.output).not.toContain('Received relay addr');
  });

  it('rejects correctly signed credentials that have expired (401)', async () => {
    const expired = await restCredentials(nowSeconds() - 60, 'alice');
    expect(await allocate(expired.username, expired.password)).toEqual({ status: 401 });
    const run = await uclient(['-u', expired.username, '-w', expired.password, '-n', '1', '-c', '-e', '192.0.2.1'], { timeoutMs: 5000 });
    expect(run.output).toContain('Cannot complete Allocation');
    // The same user with a future expiry, signed the same way, is accepted: only the expiry differs.
    const fresh = await restCredentials(nowSeconds() + 600, 'alice');
    expect(await allocate(fresh.username, fresh.password)).toEqual({ status: 200 });
  });

  it.each(['127.0.0.1', '0.0.0.0', '10.0.0.1', '192.168.1.1', '172.16.5.5', '169.254.169.254', '100.64.0.1'])(
    'refuses to relay to %s (403 Forbidden IP)',
    async (peer) => {
      const run = await relayTo(peer);
      expect(run.output).toMatch(/Received relay addr/);
      expect(run.output).toContain(FORBIDDEN);
      expect(run.code).not.toBe(0);
    },
  );

  it('cannot relay to the IPv4-mapped ::ffff:127.0.0.1: relaying is IPv4-only (440)', async () => {
    const run = await relayTo('::ffff:127.0.0.1');
    expect(run.output).toContain('error 440 (Unsupported address family)');
    expect(run.output).not.toMatch(/Received relay addr/);
  });
});

describe('the same relay command succeeds where relaying is allowed', () => {
  it('reaches a loopback echo peer only in the test profile; production refuses the identical command', async () => {
    const peer = await startEchoPeer();
    try {
      const test = await startTestCoturn({ profile: 'test' });
      const viaTestProfile = await uclient(['-W', TURN_SECRET, '-n', '3', '-c', '-e', '127.0.0.1'], { timeoutMs: 8000 }).finally(() => test.close());
      expect(viaTestProfile.code).toBe(0);
      expect(viaTestProfile.output).toContain('Total lost packets 0');

      const production = await startTestCoturn({ profile: 'production' });
      const viaProduction = await uclient(['-W', TURN_SECRET, '-n', '3', '-c', '-e', '127.0.0.1'], { timeoutMs: 8000 }).finally(() => production.close());
      expect(viaProduction.output).toContain(FORBIDDEN);
      expect(viaProduction.code).not.toBe(0);
    } finally {
      await peer.close();
    }
  });

  it('lets relayed participants reach a LAN deployment\'s own address listed in allowed-peer-ip', async () => {
    const turn = await startTestCoturn({ allowedPeerIps: [TURN_HOST, '10.0.0.1'] });
    try {
      const allowed = await relayTo('10.0.0.1');
      const denied = await relayTo('10.0.0.2');
      expect(allowed.output).toMatch(/cb response received: \n0: : success/);
      expect(allowed.output).not.toContain(FORBIDDEN);
      expect(denied.output).toContain(FORBIDDEN);
    } finally {
      await turn.close();
    }
  });
});

describe('an IPv6 relay (no relay-ip)', () => {
  it('still refuses IPv4-mapped and IPv6 loopback peers through the denied ranges (CVE-2026-27624)', async () => {
    const turn = await startTestCoturn({ relayIp: undefined, listeningIps: [TURN_HOST, '::1'] });
    try {
      for (const peer of ['::ffff:127.0.0.1', '::ffff:10.0.0.1', '::1', '::']) {
        const run = await relayTo(peer, [], '::1');
        expect(run.output, peer).toMatch(/IPv6\. Received relay addr: ::1/);
        expect(run.output, peer).toContain(FORBIDDEN);
      }
    } finally {
      await turn.close();
    }
  });
});

describe('supervision', () => {
  it('restarts coturn after it is killed, and leaves no process after stop()', async () => {
    const turn = await startTestCoturn({}, 100);
    const firstPid = turn.server.pid!;
    try {
      process.kill(firstPid, 'SIGKILL');
      await expect.poll(() => turn.server.restarts, { timeout: 5000 }).toBe(1);
      await expect.poll(() => turn.logLines.filter((line) => line.includes('Total General servers')).length, { timeout: 5000 }).toBe(2);
      expect(turn.server.pid).not.toBe(firstPid);
      const { username, credential } = mintTurnCredentials(TURN_SECRET, 'p-after-restart', 600, Date.now());
      expect(await allocate(username, credential)).toEqual({ status: 200 });
      expect(turn.logLines.some((line) => line.includes('was killed by SIGKILL; restarting'))).toBe(true);
    } finally {
      const lastPid = turn.server.pid!;
      await turn.close();
      expect(() => process.kill(lastPid, 0)).toThrow(/ESRCH/);
    }
    expect(turn.server.stopped).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(turn.server.restarts).toBe(1);
  });
});

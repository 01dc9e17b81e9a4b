// The real coturn 4.6.1 from Treff's generated configuration, probed with coturn's own clients.
// Every relay listens on a free port (never the production 10000), or inside namespaces of our own.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../signal/config.js';
import { mintTurnCredentials } from '../../signal/turn-credentials.js';
import { DENIED_PEER_RANGES } from '../../turn/config.js';
import { startRelay } from '../../turn/relay.js';
import { TURN_HOST, TURN_SECRET, allocate, freeTurnPort, restCredentials, startEchoPeer, startTestCoturn, uclient, type TestCoturn } from '../helpers/coturn.js';
import { PEER_SIDE, RELAY_SIDE, createRelayHosts, type RelayHosts } from '../helpers/relay-hosts.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const FORBIDDEN = 'channel bind: error 403 (Forbidden IP)';
/** turnutils_uclient starts sending 1–6 s after it has allocated (a random delay per client): allow for that. */
const RELAY_RUN_MS = 12_000;

describe('production profile', () => {
  let turn: TestCoturn;
  beforeAll(async () => {
    turn = await startTestCoturn();
  });
  afterAll(() => turn?.close());
  /** Relay to `peer` with REST credentials from the secret; one message, no RTCP allocation. */
  const relayTo = (peer: string) => uclient(['-v', '-W', TURN_SECRET, '-n', '1', '-c', '-e', peer], { port: turn.port, timeoutMs: 5000 });

  it('starts with every denied range taken and no configuration error', () => {
    const log = turn.logLines.join('\n');
    expect(log).not.toContain('Wrong address format');
    expect(log).not.toMatch(/CONFIG ERROR/);
    for (const range of DENIED_PEER_RANGES) expect(turn.logLines).toContain(`[turn] 0: : Black listing: ${range}`);
    expect(turn.logLines).toContain(`[turn] 0: : White listing: ${TURN_HOST}`);
    expect(log).not.toMatch(/allow_loopback_peers/);
  });

  it('allocates a relay for credentials minted by Treff, over UDP', async () => {
    const { username, credential } = mintTurnCredentials(TURN_SECRET, '198.51.100.7', 600, Date.now());
    expect(await allocate(username, credential, { port: turn.port })).toEqual({ status: 200 });
    const run = await relayTo('192.0.2.1');
    expect(run.output).toMatch(/IPv4\. Received relay addr: 127\.0\.0\.1:\d+/);
  });

  it('allocates a relay over TCP on the same port', async () => {
    const run = await uclient(['-t', '-v', '-W', TURN_SECRET, '-n', '1', '-c', '-e', '192.0.2.1'], { port: turn.port, timeoutMs: 5000 });
    expect(run.output).toContain(`IPv4. Connected to: 127.0.0.1:${turn.port}`);
    expect(run.output).toMatch(/IPv4\. Received relay addr: 127\.0\.0\.1:\d+/);
  });

  it('rejects credentials signed with another secret (401)', async () => {
    const forged = await restCredentials(nowSeconds() + 600, 'mallory', 'not-the-secret-of-this-relay');
    expect(await allocate(forged.username, forged.password, { port: turn.port })).toEqual({ status: 401 });
    const run = await uclient(['-W', 'not-the-secret-of-this-relay', '-n', '1', '-c', '-e', '192.0.2.1'], { port: turn.port, timeoutMs: 5000 });
    expect(run.output).toContain('Cannot complete Allocation');
    expect(run.output).not.toContain('Received relay addr');
  });

  it('rejects correctly signed credentials that have expired (401)', async () => {
    const expired = await restCredentials(nowSeconds() - 60, 'alice');
    expect(await allocate(expired.username, expired.password, { port: turn.port })).toEqual({ status: 401 });
    const run = await uclient(['-u', expired.username, '-w', expired.password, '-n', '1', '-c', '-e', '192.0.2.1'], { port: turn.port, timeoutMs: 5000 });
    expect(run.output).toContain('Cannot complete Allocation');
    // The same user with a future expiry, signed the same way, is accepted: only the expiry differs.
    const fresh = await restCredentials(nowSeconds() + 600, 'alice');
    expect(await allocate(fresh.username, fresh.password, { port: turn.port })).toEqual({ status: 200 });
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
      const run = (turn: TestCoturn) => uclient(['-W', TURN_SECRET, '-n', '3', '-c', '-e', '127.0.0.1', '-r', String(peer.port)], { port: turn.port, timeoutMs: RELAY_RUN_MS });
      const test = await startTestCoturn({ profile: 'test' });
      const viaTestProfile = await run(test).finally(() => test.close());
      expect(viaTestProfile.code).toBe(0);
      expect(viaTestProfile.output).toContain('Total lost packets 0');

      const production = await startTestCoturn({ profile: 'production' });
      const viaProduction = await run(production).finally(() => production.close());
      expect(viaProduction.output).toContain(FORBIDDEN);
      expect(viaProduction.code).not.toBe(0);
    } finally {
      await peer.close();
    }
  });

  it('lets relayed participants reach a LAN deployment\'s own address listed in allowed-peer-ip', async () => {
    const turn = await startTestCoturn({ allowedPeerIps: [TURN_HOST, '10.0.0.1'] });
    try {
      const relayTo = (peer: string) => uclient(['-v', '-W', TURN_SECRET, '-n', '1', '-c', '-e', peer], { port: turn.port, timeoutMs: 5000 });
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

// A peer outside every special range, on a namespace host of our own (see relay-hosts.ts): coturn
// runs in one namespace, the echo peer in another, and neither has a route anywhere else.
describe('a relayed browser reaches public peers and nothing else (coturn and peer in namespaces of our own)', () => {
  const PORT = 3478; // inside a fresh namespace every port is free
  let hosts: RelayHosts;
  let echo: { close(): Promise<void> } | undefined;
  beforeAll(async () => {
    hosts = createRelayHosts();
    try {
      echo = await hosts.startEchoPeer();
    } catch (error) {
      hosts.destroy();
      throw error;
    }
  });
  afterAll(async () => {
    try {
      await echo?.close();
    } finally {
      hosts?.destroy();
    }
  });

  /** turnutils_uclient in the relay namespace, to the relay at `server`. */
  const relayTo = (server: string, peer: string, messages: number, timeoutMs: number) =>
    hosts.runInRelay('turnutils_uclient', ['-v', '-p', String(PORT), '-W', TURN_SECRET, '-n', String(messages), '-c', '-e', peer, server], timeoutMs);
  const expectRelayed = (run: { code: number | null; output: string }) => {
    expect(run.output).not.toContain(FORBIDDEN);
    expect(run.output).toContain('tot_send_msgs=3, tot_recv_msgs=3');
    expect(run.output).toContain('Total lost packets 0');
    expect(run.code).toBe(0);
  };
  const expectRefused = (run: { code: number | null; output: string }) => {
    expect(run.output).toMatch(/Received relay addr: (20\.0\.0\.1|2a10:77::1):/);
    expect(run.output).toContain(FORBIDDEN);
    expect(run.code).not.toBe(0);
  };

  describe('as npm start runs it: relaying from one IPv4 address (relay-ip)', () => {
    let turn: TestCoturn;
    beforeAll(async () => {
      turn = await startTestCoturn(
        { listeningIps: [RELAY_SIDE.ipv4], relayIp: RELAY_SIDE.ipv4, allowedPeerIps: [RELAY_SIDE.ipv4], port: PORT },
        { binary: hosts.turnserverBinary },
      );
    });
    afterAll(() => turn?.close());

    it(`relays to the public IPv4 peer ${PEER_SIDE.ipv4} and back, every packet (coturn 4.6.1 refused it in "::-::ffff:ffff")`, async () => {
      expectRelayed(await relayTo(RELAY_SIDE.ipv4, PEER_SIDE.ipv4, 3, RELAY_RUN_MS));
      expect(turn.logLines.join('\n')).not.toContain('denied in the range');
    });

    it.each(['127.0.0.1', '10.0.0.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '172.16.5.5', '192.168.1.1'])('refuses to relay to %s (403 Forbidden IP)', async (peer) => {
      expectRefused(await relayTo(RELAY_SIDE.ipv4, peer, 1, 8000));
    });

    it('cannot relay to the IPv4-mapped ::ffff:127.0.0.1: relaying is IPv4-only (440)', async () => {
      const run = await relayTo(RELAY_SIDE.ipv4, '::ffff:127.0.0.1', 1, 8000);
      expect(run.output).toContain('error 440 (Unsupported address family)');
      expect(run.output).not.toContain('tot_recv_msgs=1');
    });
  });

  describe('without relay-ip, relaying IPv6 too: the IPv6 blocks hold', () => {
    let turn: TestCoturn;
    beforeAll(async () => {
      const own = [RELAY_SIDE.ipv4, RELAY_SIDE.ipv6];
      turn = await startTestCoturn({ listeningIps: own, relayIp: undefined, allowedPeerIps: own, port: PORT }, { binary: hosts.turnserverBinary });
    });
    afterAll(() => turn?.close());

    it(`relays to the public peers ${PEER_SIDE.ipv6} and ${PEER_SIDE.ipv4}`, async () => {
      const [ipv6, ipv4] = await Promise.all([relayTo(RELAY_SIDE.ipv6, PEER_SIDE.ipv6, 3, RELAY_RUN_MS), relayTo(RELAY_SIDE.ipv4, PEER_SIDE.ipv4, 3, RELAY_RUN_MS)]);
      expectRelayed(ipv6);
      expectRelayed(ipv4);
    });

    it.each(['::ffff:127.0.0.1', '::ffff:10.0.0.1', '::1', '::', '::127.0.0.1', '::10.0.0.0', 'fd00::1', 'fe80::1', '64:ff9b::a00:1', '2002:a00:1::1', '2001:db8::1'])(
      'refuses to relay to %s (403 Forbidden IP)',
      async (peer) => {
        expectRefused(await relayTo(RELAY_SIDE.ipv6, peer, 1, 8000));
      },
    );
  });
});

// Attack 8: every participant got its own REST user, so user-quota never bound; 110 credentials from
// one address filled the relay. coturn counts the quota by the user part after "expiry:", which
// Treff now derives from the client's address.
describe('quotas: one address cannot fill the relay', () => {
  it('stops one address at its 132 allocations however many participants it brings, while another address still gets one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'treff-quota-relay-'));
    const port = await freeTurnPort([TURN_HOST]);
    const { relay: relayConfig } = loadConfig(
      { TREFF_DATA_DIR: dataDir, TREFF_TURN_LISTEN_IP: TURN_HOST, TREFF_TURN_RELAY_IP: TURN_HOST, TREFF_TURN_PORT: String(port), TREFF_TURN_MIN_PORT: '49152', TREFF_TURN_MAX_PORT: '49999' },
      { staticDir: '' },
    );
    const relay = await startRelay(relayConfig, () => undefined);
    const held: Array<{ close(): void }> = [];
    try {
      const allocateAs = (participant: string, address: string) => {
        const turn = relay.iceServersFor(participant, TURN_HOST, address).find((server) => server.username);
        return allocate(turn!.username!, turn!.credential!, { port, held });
      };
      const statuses: number[] = [];
      for (let i = 0; i < 140; i++) statuses.push((await allocateAs(`p-${i}`, '198.51.100.7')).status);
      expect(statuses.slice(0, 132).filter((status) => status !== 200), `answers: ${statuses.join(' ')}`).toEqual([]);
      expect(new Set(statuses.slice(132))).toEqual(new Set([486])); // Allocation Quota Reached
      expect(await allocateAs('p-other', '198.51.100.8')).toEqual({ status: 200 });
      // The same /64 is the same customer.
      expect(await allocateAs('p-v6-a', '2001:db8:1:2::1')).toEqual({ status: 200 });
    } finally {
      held.forEach((socket) => socket.close());
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses every address once the relay holds total-quota allocations', async () => {
    const turn = await startTestCoturn({ userQuota: 2, totalQuota: 3 });
    const held: Array<{ close(): void }> = [];
    try {
      const allocateFor = (address: string, ttl: number) => {
        const { username, credential } = mintTurnCredentials(TURN_SECRET, address, ttl, Date.now());
        return allocate(username, credential, { port: turn.port, held });
      };
      // Another expiry is the same user for coturn: the quota is the address's, not the credential's.
      expect([(await allocateFor('198.51.100.7', 600)).status, (await allocateFor('198.51.100.7', 900)).status, (await allocateFor('198.51.100.7', 1200)).status]).toEqual([200, 200, 486]);
      expect((await allocateFor('198.51.100.8', 600)).status).toBe(200);
      expect((await allocateFor('198.51.100.9', 600)).status).toBe(486);
    } finally {
      held.forEach((socket) => socket.close());
      await turn.close();
    }
  });
});

describe('supervision', () => {
  it('restarts coturn after it is killed, and leaves no process after stop()', async () => {
    const turn = await startTestCoturn({}, { restartDelayMs: 100 });
    const firstPid = turn.server.pid!;
    try {
      process.kill(firstPid, 'SIGKILL');
      await expect.poll(() => turn.server.restarts, { timeout: 5000 }).toBe(1);
      await expect.poll(() => turn.logLines.filter((line) => line.includes('Total General servers')).length, { timeout: 5000 }).toBe(2);
      expect(turn.server.pid).not.toBe(firstPid);
      const { username, credential } = mintTurnCredentials(TURN_SECRET, '198.51.100.7', 600, Date.now());
      expect(await allocate(username, credential, { port: turn.port })).toEqual({ status: 200 });
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

// The connection check: can this browser reach the signalling server, the outside world over
// UDP, and the relay over UDP, TCP and TLS? Each relay test is a real call between two
// connections in this page, forced through the relay, so "ok" means media would really pass.

import type { IceServer, ServerMessage } from '../../signal/protocol.js';
import { meetingUrl, SignallingClient } from '../call/connection/signalling.js';

export type CheckId = 'signalling' | 'udp' | 'turn-udp' | 'turn-tcp' | 'turns';
export type CheckStatus = 'pending' | 'running' | 'ok' | 'failed' | 'unavailable';
export type CheckResults = Record<CheckId, CheckStatus>;

export const CHECKS: readonly CheckId[] = ['signalling', 'udp', 'turn-udp', 'turn-tcp', 'turns'];
const TIMEOUT_MS = 8000;

export interface CheckReport {
  results: CheckResults;
  /** Host and ports of the relay, for the advice to IT. */
  relay: { host: string; port: string; tlsPort: string | null } | null;
}

export async function runConnectionCheck(url: string, onUpdate: (report: CheckReport) => void): Promise<CheckReport> {
  const report: CheckReport = { results: { signalling: 'running', udp: 'pending', 'turn-udp': 'pending', 'turn-tcp': 'pending', turns: 'pending' }, relay: null };
  const set = (id: CheckId, status: CheckStatus) => {
    report.results = { ...report.results, [id]: status };
    onUpdate({ ...report });
  };
  onUpdate({ ...report });

  const iceServers = await fetchIceServers(url).catch(() => null);
  if (!iceServers) {
    for (const id of CHECKS) set(id, 'failed');
    return report;
  }
  set('signalling', 'ok');
  report.relay = relayAddress(iceServers);

  // The tests are independent: run them side by side, so a blocked path costs one timeout, not four.
  const stun = serversMatching(iceServers, /^stun:/);
  const relayTests = [
    ['turn-udp', /^turn:.*transport=udp/],
    ['turn-tcp', /^turn:.*transport=tcp/],
    ['turns', /^turns:/],
  ] as const;
  await Promise.all([
    (async () => {
      set('udp', stun ? 'running' : 'unavailable');
      if (stun) set('udp', (await reachesStun(stun)) ? 'ok' : 'failed');
    })(),
    ...relayTests.map(async ([id, pattern]) => {
      const servers = serversMatching(iceServers, pattern);
      set(id, servers ? 'running' : 'unavailable');
      if (servers) set(id, (await callsThroughRelay(servers)) ? 'ok' : 'failed');
    }),
  ]);
  return report;
}

/** Joins a throwaway meeting and asks for relay credentials: they are only handed to participants. */
function fetchIceServers(url: string): Promise<IceServer[]> {
  return new Promise((resolve, reject) => {
    const room = 'connection-check-' + crypto.getRandomValues(new Uint32Array(2)).join('');
    const timer = setTimeout(() => finish(null), TIMEOUT_MS);
    const finish = (servers: IceServer[] | null) => {
      clearTimeout(timer);
      client.send({ type: 'leave' });
      client.close();
      if (servers) resolve(servers);
      else reject(new Error('signalling server unreachable'));
    };
    const client: SignallingClient = new SignallingClient(meetingUrl(url, room), {
      onMessage(message: ServerMessage) {
        if (message.type === 'welcome') client.send({ type: 'join', room, name: 'Connection check' });
        // Alone in a meeting, no relay credentials come with `joined` (a lone member has no call to
        // relay): the check asks once, which the server allows a few times per address.
        else if (message.type === 'joined') message.iceServers.length > 0 ? finish(message.iceServers) : client.send({ type: 'ice-servers' });
        else if (message.type === 'ice-servers') finish(message.iceServers);
        else if (message.type === 'error') finish(null);
      },
      onClose: () => finish(null),
    });
  });
}

function serversMatching(servers: IceServer[], pattern: RegExp): RTCIceServer[] | null {
  const matching = servers
    .map((server) => ({ ...server, urls: server.urls.filter((url) => pattern.test(url)) }))
    .filter((server) => server.urls.length > 0);
  return matching.length > 0 ? matching : null;
}

function relayAddress(servers: IceServer[]): CheckReport['relay'] {
  const urls = servers.flatMap((server) => server.urls);
  const address = (prefix: string) => {
    const match = urls.find((url) => url.startsWith(prefix))?.match(/^turns?:(\[[^\]]+\]|[^:?]+):(\d+)/);
    return match ? { host: match[1]!, port: match[2]! } : null;
  };
  const turn = address('turn:');
  const turns = address('turns:');
  if (!turn && !turns) return null;
  return { host: (turn ?? turns)!.host, port: turn?.port ?? '', tlsPort: turns?.port ?? null };
}

/**
 * Asks the server's STUN port for this browser's address: an answer means UDP gets out.
 * Browsers drop a server-reflexive candidate that equals a host candidate (no NAT on the way), so
 * "no srflx, but no STUN error either" also counts as an answer.
 */
async function reachesStun(iceServers: RTCIceServer[]): Promise<boolean> {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    pc.createDataChannel('check');
    let stunFailed = false;
    pc.onicecandidateerror = (event) => {
      if (event.url?.startsWith('stun:')) stunFailed = true;
    };
    const found = new Promise<boolean>((resolve) => {
      pc.onicecandidate = (event) => {
        if (!event.candidate) resolve(!stunFailed);
        else if (event.candidate.type === 'srflx') resolve(true);
      };
      setTimeout(() => resolve(false), TIMEOUT_MS);
    });
    await pc.setLocalDescription(await pc.createOffer());
    return await found;
  } finally {
    pc.close();
  }
}

/** Connects two peer connections in this page through the relay only, and sends a message across. */
async function callsThroughRelay(iceServers: RTCIceServer[]): Promise<boolean> {
  const config: RTCConfiguration = { iceServers, iceTransportPolicy: 'relay' };
  const caller = new RTCPeerConnection(config);
  const callee = new RTCPeerConnection(config);
  try {
    caller.onicecandidate = (event) => event.candidate && void callee.addIceCandidate(event.candidate).catch(() => undefined);
    callee.onicecandidate = (event) => event.candidate && void caller.addIceCandidate(event.candidate).catch(() => undefined);
    const channel = caller.createDataChannel('check');
    const received = new Promise<boolean>((resolve) => {
      callee.ondatachannel = (event) => (event.channel.onmessage = (message) => resolve(message.data === 'ping'));
      channel.onopen = () => channel.send('ping');
      setTimeout(() => resolve(false), TIMEOUT_MS);
    });
    await caller.setLocalDescription(await caller.createOffer());
    await callee.setRemoteDescription(caller.localDescription!);
    await callee.setLocalDescription(await callee.createAnswer());
    await caller.setRemoteDescription(callee.localDescription!);
    return await received;
  } catch {
    return false;
  } finally {
    caller.close();
    callee.close();
  }
}

export type CheckVerdict = 'all-good' | 'relay-udp' | 'relay-tcp' | 'relay-tls' | 'direct-only' | 'blocked' | 'server-unreachable';

/** One sentence's worth of conclusion for the user. */
export function verdict(results: CheckResults): CheckVerdict {
  if (results.signalling !== 'ok') return 'server-unreachable';
  const relayWorks = results['turn-udp'] === 'ok' || results['turn-tcp'] === 'ok' || results.turns === 'ok';
  if (results.udp === 'ok' && results['turn-udp'] === 'ok') return 'all-good';
  if (results['turn-udp'] === 'ok') return 'relay-udp';
  if (results['turn-tcp'] === 'ok') return 'relay-tcp';
  if (results.turns === 'ok') return 'relay-tls';
  if (!relayWorks && results.udp === 'ok') return 'direct-only';
  return 'blocked';
}

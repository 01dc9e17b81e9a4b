// Two network namespaces of our own, so the relay can be tested against a peer whose address lies
// outside every special range (it must be allowed) without any packet leaving this machine:
//
//   treff-relay-<pid>: coturn and turnutils_uclient, 20.0.0.1 and 2a10:77::1 on a veth, no other route
//        │ veth
//   treff-peer-<pid>:  turnutils_peer (UDP echo) on 20.0.0.2 and 2a10:77::2
//
// Neither namespace has a default route: a relay that wrongly forwarded to 10.0.0.1 or
// 169.254.169.254 finds no route for it (the tests still see coturn's own refusal first).
// Requires root. destroy() (also run on process exit) removes both namespaces and everything in them.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RELAY_SIDE = { ipv4: '20.0.0.1', ipv6: '2a10:77::1' };
export const PEER_SIDE = { ipv4: '20.0.0.2', ipv6: '2a10:77::2' };
export const ECHO_PORT = 3480;

/** Sends one datagram and prints "echoed" if it comes back within 300 ms (run by node inside the relay namespace). */
const ECHO_PROBE = `
const socket = require('node:dgram').createSocket('udp4');
const [host, port] = process.argv.slice(1);
socket.on('message', () => { console.log('echoed'); process.exit(0); });
socket.send('ping', Number(port), host);
setTimeout(() => process.exit(1), 300);
`;

const PREFIX = { relay: 'treff-relay-', peer: 'treff-peer-' };

export interface RelayHosts {
  relayNamespace: string;
  peerNamespace: string;
  /** An executable that runs /usr/bin/turnserver inside the relay namespace (same pid: ip netns exec execs it). */
  turnserverBinary: string;
  /** Runs a command inside the relay namespace, e.g. turnutils_uclient; resolves with its exit code and output. */
  runInRelay(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }>;
  /** turnutils_peer in the peer namespace, on both addresses, ready once it echoes. */
  startEchoPeer(): Promise<{ close(): Promise<void> }>;
  destroy(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function deleteNamespace(name: string): void {
  try {
    ip('netns', 'delete', name);
  } catch {
    // not there
  }
}

/** Namespaces of earlier runs whose process is gone (a crashed or killed test run). */
function removeStale(): void {
  const names = ip('netns', 'list').split('\n').map((line) => line.split(' ')[0] ?? '');
  for (const name of names) {
    const match = /^treff-(?:relay|peer)-(\d+)(?:-\d+)?$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) deleteNamespace(name);
  }
}

/** Several relay hosts in one process (one per file, or per test) each get names of their own. */
let created = 0;

export function createRelayHosts(): RelayHosts {
  removeStale();
  created += 1;
  const relayNamespace = `${PREFIX.relay}${process.pid}-${created}`;
  const peerNamespace = `${PREFIX.peer}${process.pid}-${created}`;
  const dir = mkdtempSync(join(tmpdir(), 'treff-relay-hosts-'));
  const children = new Set<ReturnType<typeof spawn>>();
  const destroy = () => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    deleteNamespace(peerNamespace);
    deleteNamespace(relayNamespace);
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', destroy);
  };
  process.on('exit', destroy);
  try {
    ip('netns', 'add', relayNamespace);
    ip('netns', 'add', peerNamespace);
    // Created inside the relay namespace with its other end moved to the peer's: nothing touches the root namespace.
    ip('-n', relayNamespace, 'link', 'add', 'relay0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peerNamespace);
    for (const [namespace, device, side] of [[relayNamespace, 'relay0', RELAY_SIDE], [peerNamespace, 'peer0', PEER_SIDE]] as const) {
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      ip('-n', namespace, 'addr', 'add', `${side.ipv4}/24`, 'dev', device);
      // nodad: usable at once, no duplicate-address detection to wait for.
      ip('-n', namespace, 'addr', 'add', `${side.ipv6}/64`, 'dev', device, 'nodad');
      ip('-n', namespace, 'link', 'set', device, 'up');
    }
  } catch (error) {
    destroy();
    throw error;
  }

  const turnserverBinary = join(dir, 'turnserver-in-namespace');
  writeFileSync(turnserverBinary, `#!/bin/sh\nexec ip netns exec ${relayNamespace} /usr/bin/turnserver "$@"\n`);
  chmodSync(turnserverBinary, 0o755);

  const runInRelay: RelayHosts['runInRelay'] = (command, args, timeoutMs) =>
    new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', relayNamespace, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let output = '';
      let timedOut = false;
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code, output, timedOut });
      });
    });

  const startEchoPeer = async () => {
    const peer = spawn('ip', ['netns', 'exec', peerNamespace, 'turnutils_peer', '-L', PEER_SIDE.ipv4, '-L', PEER_SIDE.ipv6, '-p', String(ECHO_PORT)], { stdio: 'ignore' });
    children.add(peer);
    const exited = new Promise<void>((resolve) => peer.once('exit', () => resolve()));
    const close = async () => {
      peer.kill('SIGTERM');
      await exited;
      children.delete(peer);
    };
    // Ready when it answers a probe sent from the relay namespace over the veth (bounded: 5 s).
    for (let attempt = 0; attempt < 25; attempt++) {
      const probe = await runInRelay(process.execPath, ['-e', ECHO_PROBE, PEER_SIDE.ipv4, String(ECHO_PORT)], 3000);
      if (probe.output.includes('echoed')) return { close };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await close();
    throw new Error(`turnutils_peer in ${peerNamespace} did not echo`);
  };

  return { relayNamespace, peerNamespace, turnserverBinary, runInRelay, startEchoPeer, destroy };
}

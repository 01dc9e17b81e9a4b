// A Treff cluster on loopback as docs/scale.md runs it: redis-server, Treff nodes (each its own
// process, `signal/main.ts`), and HAProxy with docs/haproxy.cfg. Every process is started on free
// ports and stopped by `stop()`; nodes and Redis can be killed and restarted, HAProxy reloaded.

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { createClient } from 'redis';
import { meetingKey } from '../../signal/cluster/lease.js';
import { freePort, startMain, waitForOutput, type MainProcess } from './processes.js';
import { writeTestStaticDir } from './server.js';

export const REDIS_BINARY = '/usr/bin/redis-server';
export const HAPROXY_BINARY = '/usr/sbin/haproxy';

export interface Child {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function run(binary: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(binary, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, output: () => output, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.child.exitCode !== null || child.child.signalCode !== null) return;
  child.child.kill(signal);
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 5000);
  await child.exited;
  clearTimeout(timer);
}

export interface ClusterNodeProcess {
  id: string;
  port: number;
  process: MainProcess;
}

export interface TestCluster {
  /** http://127.0.0.1:<HAProxy port> */
  url: string;
  /** ws://127.0.0.1:<HAProxy port>/ws?room=<meeting> */
  wsUrl(room: string): string;
  nodes: ClusterNodeProcess[];
  redisPort: number;
  /** The node holding a meeting's lease, as Redis says (undefined: none). */
  leaseHolder(room: string): Promise<string | undefined>;
  /** The meeting's stored record in Redis, parsed (undefined: none). */
  storedRecord(room: string): Promise<Record<string, unknown> | undefined>;
  /** HAProxy's view of each node: UP, DOWN, … */
  serverStates(): Promise<Record<string, string>>;
  /** Waits until HAProxy sees each node as given. */
  waitForStates(want: Record<string, string>, timeoutMs?: number): Promise<void>;
  killNode(index: number): Promise<void>;
  restartNode(index: number): Promise<void>;
  killRedis(): Promise<void>;
  startRedis(): Promise<void>;
  reloadHaproxy(): Promise<void>;
  metrics(index: number): Promise<string>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  /** Extra environment for every node. */
  nodeEnv?: Record<string, string>;
  /** The built client for browser tests ('dist/client'); by default a minimal page. */
  staticDir?: string;
}

export async function startCluster({ nodes: count = 2, nodeEnv = {}, staticDir: builtClient }: ClusterOptions = {}): Promise<TestCluster> {
  const staticDir = builtClient ?? writeTestStaticDir();
  const redisPort = await freePort();
  const lbPort = await freePort();
  const peerPort = await freePort();
  const socketPath = `/tmp/treff-lb-${process.pid}-${lbPort}.sock`;
  let redis: Child | undefined;
  let haproxy: Child | undefined;
  let probe: ReturnType<typeof createClient> | undefined;
  const nodes: ClusterNodeProcess[] = [];

  const startRedis = async () => {
    redis = run(REDIS_BINARY, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await until('redis-server to accept connections', () => /Ready to accept connections/.test(redis!.output()) || undefined);
  };
  const startNode = async (id: string, port: number): Promise<ClusterNodeProcess> => {
    const process = startMain({
      TREFF_PORT: String(port),
      TREFF_NODE_ID: id,
      TREFF_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      TREFF_STATIC_DIR: staticDir,
      TREFF_TRUST_PROXY: 'true',
      TREFF_CONNECTIONS_PER_ADDRESS: '100000',
      TREFF_DRAIN_DELAY: '1',
      ...nodeEnv,
    });
    await waitForOutput(process, /signalling server listening/);
    return { id, port, process };
  };
  const lbEnv = () => ({
    TREFF_LB_BIND: `127.0.0.1:${lbPort}`,
    TREFF_LB_PEER: `127.0.0.1:${peerPort}`,
    TREFF_LB_SOCKET: socketPath,
    TREFF_LB_MAXCONN: '5000',
    ...Object.fromEntries(nodes.map((node, i) => [`TREFF_NODE${i + 1}`, `127.0.0.1:${node.port}`])),
  });
  const adminCommand = (command: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(socketPath);
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
      socket.write(`${command}\n`);
    });
  const serverStates = async () => {
    const csv = await adminCommand('show stat');
    const [header, ...rows] = csv.split('\n').filter((line) => line.length > 0);
    const columns = header!.replace(/^# /, '').split(',');
    const states: Record<string, string> = {};
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[0] === 'treff_nodes' && /^node\d+$/.test(cells[1]!)) states[cells[1]!] = cells[columns.indexOf('status')]!;
    }
    return states;
  };
  const waitForStates = (want: Record<string, string>, timeoutMs = 15_000) =>
    until(`HAProxy to see ${JSON.stringify(want)}`, async () => {
      const states = await serverStates().catch(() => ({}) as Record<string, string>);
      return Object.entries(want).every(([name, state]) => states[name]?.startsWith(state)) || undefined;
    }, timeoutMs).then(() => undefined);

  const cluster: TestCluster = {
    url: `http://127.0.0.1:${lbPort}`,
    wsUrl: (room) => `ws://127.0.0.1:${lbPort}/ws?room=${encodeURIComponent(room)}`,
    nodes,
    redisPort,
    async leaseHolder(room) {
      probe ??= createClient({ url: `redis://127.0.0.1:${redisPort}` });
      if (!probe.isOpen) await probe.connect();
      return (await probe.get(meetingKey('lease', room))) ?? undefined;
    },
    async storedRecord(room) {
      probe ??= createClient({ url: `redis://127.0.0.1:${redisPort}` });
      if (!probe.isOpen) await probe.connect();
      const raw = await probe.get(meetingKey('meeting', room));
      return raw === null ? undefined : (JSON.parse(raw) as Record<string, unknown>);
    },
    serverStates,
    waitForStates,
    async killNode(index) {
      const node = nodes[index]!;
      node.process.child.kill('SIGKILL');
      await node.process.exited;
    },
    async restartNode(index) {
      const node = nodes[index]!;
      nodes[index] = await startNode(node.id, node.port);
    },
    async killRedis() {
      if (probe?.isOpen) await probe.disconnect().catch(() => undefined);
      probe = undefined;
      if (redis) await stopChild(redis, 'SIGKILL');
    },
    startRedis,
    async reloadHaproxy() {
      const before = haproxy!.output().length;
      haproxy!.child.kill('SIGUSR2');
      await until('HAProxy to reload', () => /Loading success/.test(haproxy!.output().slice(before)) || undefined);
    },
    async metrics(index) {
      const response = await fetch(`http://127.0.0.1:${nodes[index]!.port}/metrics`);
      return response.text();
    },
    async stop() {
      if (probe?.isOpen) await probe.disconnect().catch(() => undefined);
      if (haproxy) await stopChild(haproxy);
      await Promise.all(nodes.map((node) => node.process.stop()));
      if (redis) await stopChild(redis);
      if (!builtClient) rmSync(staticDir, { recursive: true, force: true });
      rmSync(socketPath, { force: true });
    },
  };

  try {
    await startRedis();
    for (let i = 0; i < count; i++) nodes.push(await startNode(`node${i + 1}`, await freePort()));
    haproxy = run(HAPROXY_BINARY, ['-W', '-db', '-f', 'docs/haproxy.cfg'], lbEnv());
    await waitForStates(Object.fromEntries(nodes.map((_, i) => [`node${i + 1}`, 'UP'])));
  } catch (error) {
    await cluster.stop();
    throw new Error(`${String(error)}\nhaproxy: ${haproxy?.output() ?? ''}\nredis: ${redis?.output() ?? ''}`);
  }
  return cluster;
}

/** A meeting's node from the nodes' /metrics: how many meetings each runs. */
export function gauge(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

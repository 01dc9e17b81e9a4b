// Benchmark: Treff's signalling server against the PeerJS server (`peer` 1.0.2), same workload, same run.
//
//   npx tsx scripts/bench-signalling.ts [--rounds 5] [--clients 1000] [--relay-seconds 5] [--idle 2000,10000] [--workers 2]
//     [--concurrency 2] [--min-round-ms 130] [--json]
//
// Each server runs as its own child process on 127.0.0.1, so its CPU time (utime+stime from
// /proc/<pid>/stat) and resident memory (VmRSS from /proc/<pid>/status) are its own, whatever the
// load generator costs. The load generator is this script: WebSocket clients (`ws`) spread over
// worker threads. Per round and server (the order alternates between rounds):
//   1. latency + relay: a fresh server; `clients` clients connect (at most `concurrency` in flight
//      per worker, default 2) and join rooms of 4 — Treff: WebSocket open → hello → welcome → join → joined,
//      like the browser; PeerJS: WebSocket open → its OPEN message. Then every room negotiates in
//      rounds for `relay-seconds`: for each of its 6 pairs an offer (~4 KB SDP), the answer
//      (~4 KB), and 3 trickled candidates (~200 B) each way; a room starts its next round when all
//      48 messages of the last one arrived, but at most every `min-round-ms` (default 130 ms: 92
//      messages/s per client, under Treff's per-socket limit of 100/s). The server's CPU time is read just
//      before and after the relay phase.
//   2. idle memory: another fresh server; RSS after a forced GC, then after opening (and joining)
//      each of the `idle` connection counts, again after a forced GC. Both servers get
//      `--expose-gc` and a SIGUSR2 handler that calls gc() (a data: URL preloaded with --import),
//      so both are measured in the same steady state.
// Everything is bounded: a fixed number of clients, fixed durations, a timeout on every wait.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { TestClient } from '../test/helpers/protocol-client.js';

type ServerKind = 'treff' | 'peerjs';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------
// Realistic signalling payloads (the same bytes for both servers).

function realisticSdp(type: 'offer' | 'answer'): string {
  const lines = [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1 2',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS 5d7a1c2e-8f3b-4e8a-9b61-2f7c3d1e0a94',
  ];
  const media = (kind: string, mid: number, payloads: number[], codecs: string[]) => {
    lines.push(`m=${kind} 9 UDP/TLS/RTP/SAVPF ${payloads.join(' ')}`, 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0');
    lines.push('a=ice-ufrag:Xk3q', 'a=ice-pwd:Qm9Zb2xFc1p2dUJ0R0pLbWxOb3BxUnN0', 'a=ice-options:trickle');
    lines.push('a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF');
    lines.push(`a=setup:${type === 'offer' ? 'actpass' : 'active'}`, `a=mid:${mid}`, 'a=sendrecv', 'a=rtcp-mux', 'a=rtcp-rsize');
    lines.push('a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time');
    lines.push('a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid');
    codecs.forEach((codec, i) => {
      const pt = payloads[i]!;
      lines.push(`a=rtpmap:${pt} ${codec}`, `a=rtcp-fb:${pt} transport-cc`);
      if (kind === 'video') lines.push(`a=rtcp-fb:${pt} ccm fir`, `a=rtcp-fb:${pt} nack`, `a=rtcp-fb:${pt} nack pli`, `a=rtcp-fb:${pt} goog-remb`);
    });
    lines.push(`a=ssrc:${1000 + mid * 7919} cname:Hk2bXq0PZ7oJtWv8`, `a=ssrc:${1000 + mid * 7919} msid:5d7a1c2e-8f3b-4e8a-9b61-2f7c3d1e0a94 ${kind}-track-${mid}`);
  };
  media('audio', 0, [111, 63, 9, 0, 8, 13, 110, 126], ['opus/48000/2', 'red/48000/2', 'G722/8000', 'PCMU/8000', 'PCMA/8000', 'CN/8000', 'telephone-event/48000', 'telephone-event/8000']);
  media('video', 1, [96, 97, 98, 99, 100, 101, 102, 103, 104, 105], ['VP8/90000', 'rtx/90000', 'VP9/90000', 'rtx/90000', 'H264/90000', 'rtx/90000', 'AV1/90000', 'rtx/90000', 'red/90000', 'ulpfec/90000']);
  lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:2', 'a=sctp-port:5000', 'a=max-message-size:262144');
  return lines.join('\r\n') + '\r\n';
}

const CANDIDATE = {
  candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.5 rport 54321 generation 0 ufrag Xk3q network-cost 999',
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: 'Xk3q',
};

// ---------------------------------------------------------------------------
// Worker: owns a set of rooms (4 clients each), connects them, relays, closes.

type Signal = 'offer' | 'answer' | 'candidate';

interface WorkerClient {
  socket: WebSocket;
  /** Treff: the participant id from welcome; PeerJS: the id we chose. */
  id: string;
  room: number;
  index: number;
  onSignal?: (from: string, kind: Signal) => void;
}

type Command =
  | { cmd: 'connect'; kind: ServerKind; port: number; rooms: number; concurrency: number; tag: string; timeoutMs: number }
  | { cmd: 'relay'; durationMs: number; minRoundMs: number }
  | { cmd: 'close' };

type Reply =
  | { reply: 'connected'; latenciesMs: number[]; failed: number }
  | { reply: 'relayed'; received: number; sent: number; rounds: number; stalledRooms: number }
  | { reply: 'closed' };

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const workerIndex = (workerData as { index: number }).index;
  let clients: WorkerClient[] = [];
  let kind: ServerKind = 'treff';
  const offer = realisticSdp('offer');
  const answer = realisticSdp('answer');

  const encode = (to: string, signal: Signal): string => {
    if (kind === 'treff') {
      const data = signal === 'candidate' ? { type: 'candidate', candidate: CANDIDATE } : { type: signal, sdp: signal === 'offer' ? offer : answer };
      return JSON.stringify({ type: 'signal', to, data });
    }
    // What the PeerJS client library sends for a media connection.
    const payload =
      signal === 'candidate'
        ? { candidate: CANDIDATE, type: 'media', connectionId: 'mc_4n7p2k9q1x' }
        : { sdp: { type: signal, sdp: signal === 'offer' ? offer : answer }, type: 'media', connectionId: 'mc_4n7p2k9q1x', metadata: null, label: 'mc_4n7p2k9q1x', serialization: 'binary' };
    return JSON.stringify({ type: signal.toUpperCase(), dst: to, payload });
  };

  /** PeerJS's messages (another protocol: Treff's go through the protocol test client's parser). */
  const decodePeerJs = (raw: string): { from: string; kind: Signal } | undefined => {
    const msg = JSON.parse(raw) as { type: string; src?: string };
    if ((msg.type === 'OFFER' || msg.type === 'ANSWER' || msg.type === 'CANDIDATE') && msg.src) return { from: msg.src, kind: msg.type.toLowerCase() as Signal };
    return undefined;
  };

  interface Connected {
    client: WebSocket;
    id: string;
    ms: number;
    /** Treff: the protocol test client on that socket (every message validated by the client's own parser). */
    treff?: TestClient;
  }

  /** Treff as the browser does it: open → hello → welcome → join → joined. */
  async function connectTreff(serverPort: number, id: string, room: string, timeoutMs: number): Promise<Connected> {
    const started = performance.now();
    // Nothing kept: the relay phase sees every signal through listen().
    const treff = await TestClient.connect(`ws://127.0.0.1:${serverPort}/ws`, id, { perMessageDeflate: false }, { keepHistory: false, unreadLimit: 0, connectTimeoutMs: timeoutMs });
    try {
      const you = await treff.hello(timeoutMs);
      treff.send({ type: 'join', room, name: `Bench ${id}` });
      const answer = await treff.next((message) => message.type === 'joined' || message.type === 'error', timeoutMs);
      if (answer.type === 'error') throw new Error(`server error ${JSON.stringify(answer)}`);
      return { client: treff.socket, id: you, ms: performance.now() - started, treff };
    } catch (error) {
      treff.terminate();
      throw error;
    }
  }

  function connectOne(serverPort: number, id: string, room: string, timeoutMs: number): Promise<Connected> {
    if (kind === 'treff') return connectTreff(serverPort, id, room, timeoutMs);
    return new Promise((resolveConnect, rejectConnect) => {
      const started = performance.now();
      const url = `ws://127.0.0.1:${serverPort}/peerjs?key=peerjs&id=${id}&token=t${id}`;
      const socket = new WebSocket(url, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        socket.terminate();
        rejectConnect(new Error('connect timeout'));
      }, timeoutMs);
      const done = (participantId: string) => {
        clearTimeout(timer);
        socket.removeAllListeners('message');
        socket.removeAllListeners('close');
        resolveConnect({ client: socket, id: participantId, ms: performance.now() - started });
      };
      socket.on('error', (error) => {
        clearTimeout(timer);
        rejectConnect(error);
      });
      socket.on('close', (code) => {
        clearTimeout(timer);
        rejectConnect(new Error(`closed with ${code} before joining`));
      });
      socket.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string };
        if (msg.type === 'OPEN') done(id);
        else rejectConnect(new Error(`unexpected ${msg.type}`));
      });
    });
  }

  async function connect(c: Extract<Command, { cmd: 'connect' }>): Promise<Reply> {
    kind = c.kind;
    const latenciesMs: number[] = [];
    let failed = 0;
    const jobs: Array<{ room: number; index: number }> = [];
    const roomBase = clients.length / 4;
    for (let r = 0; r < c.rooms; r++) for (let i = 0; i < 4; i++) jobs.push({ room: roomBase + r, index: i });
    let next = 0;
    const lane = async () => {
      for (;;) {
        const job = jobs[next++];
        if (!job) return;
        const id = `${c.tag}w${workerIndex}r${job.room}c${job.index}`;
        try {
          const result = await connectOne(c.port, id, `${c.tag}-w${workerIndex}-room-${job.room}`, c.timeoutMs);
          latenciesMs.push(result.ms);
          const client: WorkerClient = { socket: result.client, id: result.id, room: job.room, index: job.index };
          if (result.treff) {
            result.treff.listen((message) => {
              if (message.type === 'signal') client.onSignal?.(message.from, message.data.type as Signal);
            });
          } else {
            result.client.on('message', (data) => {
              const signal = decodePeerJs(data.toString());
              if (signal) client.onSignal?.(signal.from, signal.kind);
            });
          }
          result.client.on('error', () => {});
          clients.push(client);
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: c.concurrency }, lane));
    return { reply: 'connected', latenciesMs, failed };
  }

  async function relay(c: Extract<Command, { cmd: 'relay' }>): Promise<Reply> {
    const byRoom = new Map<number, WorkerClient[]>();
    for (const client of clients) byRoom.set(client.room, [...(byRoom.get(client.room) ?? []), client]);
    const deadline = performance.now() + c.durationMs;
    let received = 0;
    let sent = 0;
    let rounds = 0;
    let stalledRooms = 0;
    const send = (from: WorkerClient, to: WorkerClient, signal: Signal) => {
      from.socket.send(encode(to.id, signal));
      sent++;
    };
    // One room negotiates all 6 pairs per round; a round ends when all 48 messages arrived.
    const runRoom = (members: WorkerClient[]) =>
      new Promise<void>((roomDone) => {
        if (members.length !== 4) return roomDone();
        const byId = new Map(members.map((m) => [m.id, m]));
        const perRound = 6 * 8;
        let got = 0;
        let roundStarted = 0;
        let watchdog: NodeJS.Timeout | undefined;
        const finish = () => {
          clearTimeout(watchdog);
          for (const m of members) delete m.onSignal;
          roomDone();
        };
        const startRound = () => {
          if (performance.now() >= deadline) return finish();
          got = 0;
          roundStarted = performance.now();
          clearTimeout(watchdog);
          watchdog = setTimeout(() => {
            stalledRooms++;
            finish();
          }, 5000);
          for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) send(members[i]!, members[j]!, 'offer');
        };
        for (const member of members) {
          member.onSignal = (from, signal) => {
            received++;
            got++;
            const peer = byId.get(from);
            if (peer) {
              if (signal === 'offer') {
                send(member, peer, 'answer');
                for (let k = 0; k < 3; k++) send(member, peer, 'candidate');
              } else if (signal === 'answer') {
                for (let k = 0; k < 3; k++) send(member, peer, 'candidate');
              }
            }
            if (got === perRound) {
              rounds++;
              // Pace so no client exceeds Treff's per-socket rate limit (100 messages/s).
              const wait = Math.max(0, roundStarted + c.minRoundMs - performance.now());
              setTimeout(startRound, wait);
            }
          };
        }
        startRound();
      });
    await Promise.all([...byRoom.values()].map(runRoom));
    return { reply: 'relayed', received, sent, rounds, stalledRooms };
  }

  async function close(): Promise<Reply> {
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((closed) => {
            if (client.socket.readyState === WebSocket.CLOSED) return closed();
            const timer = setTimeout(() => {
              client.socket.terminate();
              closed();
            }, 2000);
            client.socket.once('close', () => {
              clearTimeout(timer);
              closed();
            });
            client.socket.close(1000);
          }),
      ),
    );
    clients = [];
    return { reply: 'closed' };
  }

  port.on('message', (command: Command) => {
    const work = command.cmd === 'connect' ? connect(command) : command.cmd === 'relay' ? relay(command) : close();
    void work.then((reply) => port.postMessage(reply));
  });
}

// ---------------------------------------------------------------------------
// Main thread: servers as children, workers as load generator, statistics.

interface Options {
  rounds: number;
  clients: number;
  relaySeconds: number;
  idle: number[];
  workers: number;
  concurrency: number;
  minRoundMs: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  const options: Options = {
    rounds: Number(value('rounds', '5')),
    clients: Number(value('clients', '1000')),
    relaySeconds: Number(value('relay-seconds', '5')),
    idle: value('idle', '2000,10000')
      .split(',')
      .map(Number)
      .filter((n) => n > 0),
    workers: Number(value('workers', String(Math.max(1, Math.min(2, cpus().length))))),
    concurrency: Number(value('concurrency', '2')),
    minRoundMs: Number(value('min-round-ms', '130')),
    json: argv.includes('--json'),
  };
  if (!(options.rounds >= 1 && options.rounds <= 20)) throw new Error('--rounds must be 1–20');
  if (!(options.clients >= 8 && options.clients <= 20000)) throw new Error('--clients must be 8–20000');
  if (!(options.relaySeconds > 0 && options.relaySeconds <= 60)) throw new Error('--relay-seconds must be at most 60');
  if (!(options.workers >= 1 && options.workers <= 8)) throw new Error('--workers must be 1–8');
  if (options.idle.some((n) => n > 15000)) throw new Error('--idle counts are capped at 15000 (file descriptors)');
  return options;
}

const GC_ON_SIGUSR2 = 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc&&globalThis.gc())';

interface ServerProcess {
  kind: ServerKind;
  child: ChildProcess;
  pid: number;
  port: number;
}

const children = new Set<ChildProcess>();
/** Children we are stopping on purpose (their exit is expected). */
const stopping = new Set<ChildProcess>();

function startServerProcess(kind: ServerKind, staticDir: string): Promise<ServerProcess> {
  const common = ['--expose-gc', '--import', GC_ON_SIGUSR2];
  // For finding where a server spends its time: BENCH_PROFILE_DIR=/tmp/prof writes a .cpuprofile per server process.
  if (process.env.BENCH_PROFILE_DIR) common.push('--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR);
  const child =
    kind === 'treff'
      ? spawn(process.execPath, [...common, '--import', 'tsx', 'signal/main.ts'], {
          cwd: root,
          env: { ...process.env, TREFF_TURN: 'off', TREFF_PORT: '0', TREFF_HOST: '127.0.0.1', TREFF_STATIC_DIR: staticDir,
            // A fresh data directory per server: meetings stored by an earlier round must not come back.
            TREFF_DATA_DIR: mkdtempSync(join(tmpdir(), 'treff-bench-data-')),
            // All load comes from 127.0.0.1: lift the per-address connection cap (default 64). The
            // message rate limits stay at their defaults; the workload stays under them.
            TREFF_CONNECTIONS_PER_ADDRESS: '100000',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(
          process.execPath,
          [
            ...common,
            '--input-type=module',
            '-e',
            // The library's PeerServer with defaults, except: loopback, a connection limit above our
            // largest idle count (default 5000) and no heartbeat expiry during the run. No per-connection
            // logging (the `peerjs` CLI logs every connect, which would cost it CPU Treff does not spend).
            `import { PeerServer } from 'peer';
             PeerServer({ host: '127.0.0.1', port: 0, concurrent_limit: 20000, alive_timeout: 600000 }, (server) => console.log('PEERJS_READY ' + server.address().port));`,
          ],
          { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
        );
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolveStart, rejectStart) => {
    let output = '';
    const timer = setTimeout(() => rejectStart(new Error(`${kind} did not start within 20 s: ${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Treff is running: open http:\/\/[^:]+:(\d+)\//.exec(output) ?? /PEERJS_READY (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining
        resolveStart({ kind, child, pid: child.pid!, port: Number(match[1]) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!stopping.has(child)) process.stderr.write(`${kind} server exited unexpectedly (${code ?? signal}): ${output.slice(-4000)}\n`);
      rejectStart(new Error(`${kind} exited with ${code}: ${output}`));
    });
  });
}

async function stopServerProcess(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null) return;
  stopping.add(server.child);
  const exited = new Promise<void>((done) => server.child.once('exit', () => done()));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User and system CPU time of a process (all its threads), in ms. */
function cpuMs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
  return { user: (Number(fields[11]) * 1000) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1000) / TICKS_PER_SECOND };
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function settledRssKb(pid: number): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  await sleep(400);
  process.kill(pid, 'SIGUSR2');
  await sleep(400);
  return rssKb(pid);
}

class Workers {
  private readonly workers: Worker[];
  constructor(count: number) {
    // Workers run this same file; tsx's loader is registered in each before importing it.
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    this.workers = Array.from({ length: count }, (_, index) => {
      const worker = new Worker(bootstrap, { eval: true, workerData: { index } });
      worker.on('error', (error) => {
        process.stderr.write(`load worker ${index} failed: ${String(error)}\n`);
        process.exitCode = 1;
        process.exit();
      });
      return worker;
    });
  }
  get count(): number {
    return this.workers.length;
  }
  /** Sends one command to each worker (or a per-worker command) and waits for all replies. */
  all(command: Command | ((index: number) => Command), timeoutMs: number): Promise<Reply[]> {
    return Promise.all(
      this.workers.map(
        (worker, index) =>
          new Promise<Reply>((replied, failed) => {
            const timer = setTimeout(() => failed(new Error(`worker ${index} did not answer ${JSON.stringify(command)} in ${timeoutMs} ms`)), timeoutMs);
            worker.once('message', (reply: Reply) => {
              clearTimeout(timer);
              replied(reply);
            });
            worker.postMessage(typeof command === 'function' ? command(index) : command);
          }),
      ),
    );
  }
  terminate(): Promise<number[]> {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

interface RoundResult {
  kind: ServerKind;
  connected: number;
  failed: number;
  joinP50: number;
  joinP99: number;
  relayed: number;
  relaySeconds: number;
  messagesPerSecond: number;
  cpuMs: number;
  cpuMsPer10k: number;
  /** The same split into user (JavaScript, uWS/ws framing) and system (kernel: loopback TCP) time. */
  userMsPer10k: number;
  systemMsPer10k: number;
  stalledRooms: number;
  idleBaseKb: number;
  idle: Array<{ connections: number; rssKb: number; kbPerConnection: number }>;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function splitRooms(rooms: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, i) => Math.floor(rooms / workers) + (i < rooms % workers ? 1 : 0));
}

async function runRound(kind: ServerKind, round: number, options: Options, workers: Workers, staticDir: string): Promise<RoundResult> {
  const tag = `b${round}${kind[0]}${Date.now().toString(36)}`;
  const connectTimeout = (n: number) => 60_000 + n * 20;

  // 1. connect+join latency, then relay.
  let server = await startServerProcess(kind, staticDir);
  const rooms = Math.floor(options.clients / 4);
  const perWorker = splitRooms(rooms, workers.count);
  const connected = await workers.all(
    (i) => ({ cmd: 'connect', kind, port: server.port, rooms: perWorker[i]!, concurrency: options.concurrency, tag, timeoutMs: 10_000 }),
    connectTimeout(options.clients),
  );
  const latencies = connected.flatMap((r) => (r.reply === 'connected' ? r.latenciesMs : []));
  const failed = connected.reduce((sum, r) => sum + (r.reply === 'connected' ? r.failed : 0), 0);
  await sleep(300);
  const cpuBefore = cpuMs(server.pid);
  const relayStart = performance.now();
  const relayed = await workers.all({ cmd: 'relay', durationMs: options.relaySeconds * 1000, minRoundMs: options.minRoundMs }, options.relaySeconds * 1000 + 30_000);
  const relaySeconds = (performance.now() - relayStart) / 1000;
  const cpuAfter = cpuMs(server.pid);
  const cpuUser = cpuAfter.user - cpuBefore.user;
  const cpuSystem = cpuAfter.system - cpuBefore.system;
  const cpu = cpuUser + cpuSystem;
  const received = relayed.reduce((sum, r) => sum + (r.reply === 'relayed' ? r.received : 0), 0);
  const stalledRooms = relayed.reduce((sum, r) => sum + (r.reply === 'relayed' ? r.stalledRooms : 0), 0);
  await workers.all({ cmd: 'close' }, 30_000);
  await stopServerProcess(server);

  // 2. idle memory on a fresh server.
  server = await startServerProcess(kind, staticDir);
  await sleep(300);
  const idleBaseKb = await settledRssKb(server.pid);
  const idle: RoundResult['idle'] = [];
  let open = 0;
  for (const target of [...options.idle].sort((a, b) => a - b)) {
    const more = Math.floor((target - open) / 4);
    if (more <= 0) continue;
    const replies = await workers.all(
      (i) => ({ cmd: 'connect', kind, port: server.port, rooms: splitRooms(more, workers.count)[i]!, concurrency: 16, tag: `${tag}i${target}`, timeoutMs: 20_000 }),
      connectTimeout(target),
    );
    open += replies.reduce((sum, r) => sum + (r.reply === 'connected' ? r.latenciesMs.length : 0), 0);
    const kb = await settledRssKb(server.pid);
    idle.push({ connections: open, rssKb: kb, kbPerConnection: (kb - idleBaseKb) / open });
  }
  await workers.all({ cmd: 'close' }, 60_000);
  await stopServerProcess(server);

  return {
    kind,
    connected: latencies.length,
    failed,
    joinP50: quantile(latencies, 0.5),
    joinP99: quantile(latencies, 0.99),
    relayed: received,
    relaySeconds,
    messagesPerSecond: received / relaySeconds,
    cpuMs: cpu,
    cpuMsPer10k: (cpu / Math.max(1, received)) * 10_000,
    userMsPer10k: (cpuUser / Math.max(1, received)) * 10_000,
    systemMsPer10k: (cpuSystem / Math.max(1, received)) * 10_000,
    stalledRooms,
    idleBaseKb,
    idle,
  };
}

interface Summary {
  median: number;
  min: number;
  max: number;
}

function summarize(values: number[]): Summary {
  return { median: quantile(values, 0.5), min: Math.min(...values), max: Math.max(...values) };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const staticDir = mkdtempSync(join(tmpdir(), 'treff-bench-static-'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>bench</title>');
  const workers = new Workers(options.workers);
  const results: RoundResult[] = [];
  const log = (line: string) => process.stderr.write(line + '\n');
  const cleanup = () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(staticDir, { recursive: true, force: true });
  };
  // Last resort: no server outlives this script, whatever happens.
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const started = performance.now();
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const order: ServerKind[] = round % 2 === 1 ? ['treff', 'peerjs'] : ['peerjs', 'treff'];
      for (const kind of order) {
        const result = await runRound(kind, round, options, workers, staticDir);
        results.push(result);
        log(
          `round ${round} ${kind}: ${result.connected} joined (${result.failed} failed), join p50 ${result.joinP50.toFixed(2)} ms p99 ${result.joinP99.toFixed(2)} ms, ` +
            `${result.relayed} relayed in ${result.relaySeconds.toFixed(1)} s (${Math.round(result.messagesPerSecond)}/s), CPU ${result.cpuMs} ms = ${result.cpuMsPer10k.toFixed(0)} ms/10k (user ${result.userMsPer10k.toFixed(0)}, system ${result.systemMsPer10k.toFixed(0)}), ` +
            `idle ${result.idle.map((i) => `${i.connections}: ${i.kbPerConnection.toFixed(2)} KB/conn`).join(', ')}`,
        );
      }
    }
  } finally {
    await workers.terminate();
    cleanup();
  }

  const metric = (kind: ServerKind, read: (r: RoundResult) => number) => summarize(results.filter((r) => r.kind === kind).map(read));
  const ratio = (read: (r: RoundResult) => number) => {
    // Per-round ratio (both servers measured back to back in the same round), then the median of those.
    const treff = results.filter((r) => r.kind === 'treff');
    const peer = results.filter((r) => r.kind === 'peerjs');
    return summarize(treff.map((t, i) => read(t) / read(peer[i]!)));
  };
  const rows: Array<{ name: string; read: (r: RoundResult) => number; digits: number }> = [
    { name: 'server CPU ms per 10,000 relayed messages', read: (r) => r.cpuMsPer10k, digits: 0 },
    { name: '… of which user time (ms per 10,000)', read: (r) => r.userMsPer10k, digits: 0 },
    { name: '… of which system time (ms per 10,000)', read: (r) => r.systemMsPer10k, digits: 0 },
    { name: `connect+join p50 (ms, ${options.clients} clients)`, read: (r) => r.joinP50, digits: 2 },
    { name: `connect+join p99 (ms, ${options.clients} clients)`, read: (r) => r.joinP99, digits: 2 },
    { name: 'relayed messages per second', read: (r) => r.messagesPerSecond, digits: 0 },
    ...[...options.idle]
      .sort((a, b) => a - b)
      .map((n, i) => ({ name: `RSS per idle connection (KB, ${n} open)`, read: (r: RoundResult) => r.idle[i]?.kbPerConnection ?? NaN, digits: 2 })),
    // The cost of one more connection, without the fixed growth of a server that just started serving.
    ...[...options.idle]
      .sort((a, b) => a - b)
      .slice(1)
      .map((n, i) => ({
        name: `marginal RSS per idle connection (KB, from ${[...options.idle].sort((a, b) => a - b)[i]} to ${n} open)`,
        read: (r: RoundResult) => {
          const [low, high] = [r.idle[i], r.idle[i + 1]];
          return low && high ? (high.rssKb - low.rssKb) / (high.connections - low.connections) : NaN;
        },
        digits: 2,
      })),
  ];
  const fmt = (s: Summary, digits: number) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const lines = [
    `Signalling benchmark: ${options.rounds} rounds, ${options.clients} clients in rooms of 4, ${options.relaySeconds} s relay, ${options.workers} load workers; median (min–max)`,
    '',
    '| metric | Treff | PeerJS 1.0.2 | Treff/PeerJS |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.name} | ${fmt(metric('treff', row.read), row.digits)} | ${fmt(metric('peerjs', row.read), row.digits)} | ${fmt(ratio(row.read), 2)} |`),
    '',
    `KB per idle connection = (RSS with N open − RSS before) / N, both after a forced GC; × 1000 gives KB per 1,000 connections. Failed connects: Treff ${metric('treff', (r) => r.failed).max}, PeerJS ${metric('peerjs', (r) => r.failed).max}; ` +
      `stalled rooms: Treff ${metric('treff', (r) => r.stalledRooms).max}, PeerJS ${metric('peerjs', (r) => r.stalledRooms).max}. Took ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  ];
  console.log(lines.join('\n'));
  if (options.json) console.log(JSON.stringify({ options, results }, null, 2));
}

if (isMainThread) {
  await main();
} else {
  await workerMain();
}

// coturn as a supervised child: its log passed on with a prefix, restarted when it dies, never left behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

/** coturn prints this once its listeners are open (with or without -v). */
const READY_LINE = /Total General servers/;
const LOG_TAIL_LINES = 40;
const MAX_RESTART_DELAY_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
/** Kills coturn when Treff's main thread dies, even by SIGKILL, where no exit handler runs. */
const SETPRIV = '/usr/bin/setpriv';

/** TREFF_TURNSERVER when set (it must be executable), else `turnserver` on PATH or in /usr/bin; null when missing. */
export function findTurnServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const override = env.TREFF_TURNSERVER;
  if (override) {
    if (!isExecutableFile(override)) throw new Error(`TREFF_TURNSERVER=${override} is not an executable file`);
    return override;
  }
  const directories = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  return directories.map((directory) => join(directory, 'turnserver')).find(isExecutableFile) ?? null;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface TurnServerOptions {
  binary: string;
  configPath: string;
  log: (line: string) => void;
  /** First restart delay; doubles on each crash in a row up to 30 s. */
  restartDelayMs?: number;
  /** How long the first start may take before `ready` rejects (a busy port makes coturn retry binding forever). */
  readyTimeoutMs?: number;
}

export interface TurnServer {
  stop(): Promise<void>;
  /** Restarts after unexpected exits so far. */
  readonly restarts: number;
  /** True once stop() was called or the first start failed: no more restarts. */
  readonly stopped: boolean;
  /** The running coturn's pid, undefined between a crash and its restart. */
  readonly pid: number | undefined;
  /** Resolves when the first coturn listens; rejects with its log tail if it exits or hangs before. */
  ready: Promise<void>;
}

export function startTurnServer(options: TurnServerOptions): TurnServer {
  const baseDelay = options.restartDelayMs ?? 1000;
  const logTail: string[] = [];
  let child: ChildProcess | undefined;
  let restarts = 0;
  let crashesInARow = 0;
  let everReady = false;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined;

  const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
  ready.catch(() => {}); // a caller that never awaits ready must not crash the process
  const readyTimer = setTimeout(() => failReady('did not start listening in time'), options.readyTimeoutMs ?? 15_000);

  function failReady(reason: string): void {
    clearTimeout(readyTimer);
    settleReady?.reject(new Error(`coturn ${reason}. Last log lines:\n${logTail.join('\n')}`));
    settleReady = undefined;
    if (!everReady) void stop();
  }

  function onLine(line: string): void {
    logTail.push(line);
    if (logTail.length > LOG_TAIL_LINES) logTail.shift();
    options.log(`[turn] ${line}`);
    if (!READY_LINE.test(line)) return;
    crashesInARow = 0;
    everReady = true;
    clearTimeout(readyTimer);
    settleReady?.resolve();
    settleReady = undefined;
  }

  function launch(): void {
    const [command, args] = commandLine(options.binary, options.configPath);
    const current = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = current;
    for (const stream of [current.stdout, current.stderr]) if (stream) createInterface({ input: stream }).on('line', onLine);
    current.on('error', (error) => onLine(`cannot run ${options.binary}: ${error.message}`));
    current.on('close', (code, signal) => onExit(current, code, signal));
  }

  function onExit(exited: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === exited) child = undefined;
    if (stopping) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (!everReady) return failReady(how);
    crashesInARow++;
    const delay = Math.min(baseDelay * 2 ** (crashesInARow - 1), MAX_RESTART_DELAY_MS);
    options.log(`[turn] coturn ${how}; restarting in ${delay} ms`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      restarts++;
      launch();
    }, delay);
  }

  // Synchronous: 'exit' handlers cannot wait, but sending a signal needs no waiting.
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function stop(): Promise<void> {
    stopping = true;
    clearTimeout(readyTimer);
    clearTimeout(restartTimer);
    process.off('exit', killOnExit);
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  launch();
  return {
    stop,
    ready,
    get restarts() {
      return restarts;
    },
    get stopped() {
      return stopping;
    },
    get pid() {
      return child?.pid;
    },
  };
}

/** setpriv execs coturn in place (same pid) after asking the kernel to kill it when Treff dies. */
function commandLine(binary: string, configPath: string): [string, string[]] {
  const coturnArgs = ['-c', configPath];
  return isExecutableFile(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', binary, ...coturnArgs]] : [binary, coturnArgs];
}

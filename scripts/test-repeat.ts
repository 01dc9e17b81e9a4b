// The flake hunter: runs chosen test files N times, each run a fresh vitest process, optionally
// while stress-ng keeps two CPU workers busy (as a second CI job or a neighbour would), and prints
// per test how many runs it failed and the first failure message.
//
//   npm run test:repeat -- --runs 10 --stress test/browser/office.test.ts test/browser/chat.test.ts
//   npm run test:repeat -- --runs 3 --max-minutes 30 test/browser      (a folder: every file in it)
//
// Only the project's own vitest is used (node_modules), and stress-ng from Debian (scripts/setup.sh).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

interface Options {
  runs: number;
  stress: boolean;
  stressWorkers: number;
  maxMinutes: number;
  files: string[];
  /** Where each run's vitest output goes, for reading a failure in full. */
  keepLogs: string | undefined;
  json: string | undefined;
  /** Leave out the tests that passed every run. */
  failedOnly: boolean;
  /** Only the tests whose name matches (vitest -t). */
  grep: string | undefined;
}

const USAGE = `usage: npm run test:repeat -- [--runs N] [--stress] [--stress-workers K] [--max-minutes M] [--logs DIR] [--json FILE] <files or folders…>
  --runs N          how many times to run the files (default 3), each a fresh vitest process
  --stress          keep K CPU workers busy with stress-ng while the tests run (default K = 2)
  --max-minutes M   stop starting runs after M minutes, and end a run still going then (default 60)
  --logs DIR        keep every run's vitest output (run-1.log, …) in DIR
  --json FILE       also write the table as JSON
  --failed-only     list only the tests that failed at least once
  --grep PATTERN    only the tests whose name matches (vitest -t)
  --logs DIR also keeps each run's JSON report (run-1.json, …): the failures in full, with stacks`;

function parseArgs(argv: string[]): Options {
  const options: Options = { runs: 3, stress: false, stressWorkers: 2, maxMinutes: 60, files: [], keepLogs: undefined, json: undefined, failedOnly: false, grep: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const positive = (text: string) => {
      const number = Number(text);
      if (!Number.isFinite(number) || number <= 0) throw new Error(`${arg} needs a positive number, got ${text}`);
      return number;
    };
    if (arg === '--runs') options.runs = Math.floor(positive(value()));
    else if (arg === '--stress') options.stress = true;
    else if (arg === '--stress-workers') options.stressWorkers = Math.floor(positive(value()));
    else if (arg === '--max-minutes') options.maxMinutes = positive(value());
    else if (arg === '--logs') options.keepLogs = value();
    else if (arg === '--json') options.json = value();
    else if (arg === '--failed-only') options.failedOnly = true;
    else if (arg === '--grep' || arg === '-t') options.grep = value();
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else options.files.push(arg);
  }
  if (options.files.length === 0) throw new Error(`name the test files to repeat\n${USAGE}`);
  for (const file of options.files) if (!existsSync(file)) throw new Error(`no such file or folder: ${file}`);
  return options;
}

/** One test's outcome in one run, from vitest's JSON report. */
interface Outcome {
  key: string;
  passed: boolean;
  message: string;
}

interface JsonReport {
  testResults?: Array<{
    name: string;
    status: string;
    message?: string;
    assertionResults?: Array<{ ancestorTitles: string[]; title: string; status: string; failureMessages?: string[] }>;
  }>;
}

const root = resolve(import.meta.dirname, '..');

function oneLine(text: string): string {
  // Colour codes and stack frames say nothing in a table: the first meaningful line.
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  const line = plain.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  return line.length > 200 ? line.slice(0, 197) + '…' : line;
}

/** The first line that says what went wrong in a vitest log (an error, a failed build), else its tail. */
function firstError(log: string): string {
  const lines = log.split('\n').map((line) => line.trim());
  const error = lines.find((line) => /^(Error|TypeError|✘ \[ERROR\]|Unhandled|FAIL)\b|ERROR:/.test(line));
  return oneLine(error ?? lines.slice(-20).join('\n'));
}

function outcomesOf(report: JsonReport): Outcome[] {
  const outcomes: Outcome[] = [];
  for (const file of report.testResults ?? []) {
    const name = relative(root, file.name);
    const tests = file.assertionResults ?? [];
    for (const test of tests) {
      if (test.status !== 'passed' && test.status !== 'failed') continue; // skipped, todo
      outcomes.push({
        key: `${name} › ${[...test.ancestorTitles, test.title].join(' › ')}`,
        passed: test.status === 'passed',
        message: oneLine(test.failureMessages?.[0] ?? ''),
      });
    }
    // A file can fail outside its tests (a hook, an import, an unhandled error).
    const failedTests = tests.some((test) => test.status === 'failed');
    if (file.status === 'failed' && !failedTests) outcomes.push({ key: `${name} › (file)`, passed: false, message: oneLine(file.message ?? 'failed outside its tests') });
    else if (tests.length === 0 || file.status !== 'failed') outcomes.push({ key: `${name} › (file)`, passed: true, message: '' });
  }
  return outcomes;
}

/** Kills a process group we started (detached), first politely. */
async function endGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  signal('SIGKILL');
}

interface RunResult {
  outcomes: Outcome[];
  seconds: number;
  /** Why the run has no (complete) report: cut off by --max-minutes, or vitest died. */
  broken: string | undefined;
}

/** The vitest run going on now, so an interrupted hunt ends it (and its browsers) too. */
let current: { child: ChildProcess; exited: Promise<unknown> } | undefined;

async function runOnce(options: Options, index: number, dir: string, deadline: number): Promise<RunResult> {
  const reportFile = join(dir, `run-${index}.json`);
  const started = Date.now();
  // The default reporter too, so a kept log shows what the tests printed (measurements, diagnostics).
  const args = ['run', ...options.files, '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...(options.grep ? ['-t', options.grep] : [])];
  const child = spawn(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a cut-off run takes its servers and browsers with it.
    detached: true,
  });
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  current = { child, exited };
  let cutOff = false;
  const guard = setTimeout(() => {
    cutOff = true;
    void endGroup(child, exited);
  }, Math.max(0, deadline - Date.now()));
  const code = await exited;
  current = undefined;
  clearTimeout(guard);
  if (options.keepLogs) {
    writeFileSync(join(options.keepLogs, `run-${index}.log`), log);
    if (existsSync(reportFile)) copyFileSync(reportFile, join(options.keepLogs, `run-${index}.json`));
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  let report: JsonReport | undefined;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport;
  } catch {
    report = undefined;
  }
  if (cutOff) return { outcomes: report ? outcomesOf(report) : [], seconds, broken: `cut off by --max-minutes ${options.maxMinutes}` };
  if (!report) return { outcomes: [], seconds, broken: `vitest exited ${code} without a report: ${oneLine(log.split('\n').slice(-20).join('\n'))}` };
  const outcomes = outcomesOf(report);
  // A run in which no test ran (the global setup failed: e.g. the client does not build) or vitest
  // failed with every test passed (an unhandled error) is not a green run.
  const ran = outcomes.filter((o) => !o.key.endsWith('(file)')).length;
  const failed = outcomes.some((o) => !o.passed);
  if (ran === 0 || (code !== 0 && !failed)) return { outcomes, seconds, broken: `vitest exited ${code} with ${ran} test(s) run: ${firstError(log)}` };
  return { outcomes, seconds, broken: undefined };
}

function startStress(workers: number, maxMinutes: number): { stop(): Promise<void> } {
  const found = spawnSync('stress-ng', ['--version'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) throw new Error('--stress needs stress-ng (Debian package stress-ng; npm run setup installs it)');
  // --timeout: stress-ng ends by itself even if this script is killed before it can stop it.
  const child = spawn('stress-ng', ['--cpu', String(workers), '--timeout', `${Math.ceil(maxMinutes * 60) + 60}s`, '--quiet'], { stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { stop: () => endGroup(child, exited) };
}

interface Row {
  test: string;
  runs: number;
  failures: number;
  firstFailure: string;
}

function table(rows: Row[]): string {
  const header = ['test (file › name)', 'runs', 'failures', 'first failure'];
  const cells = rows.map((row) => [row.test, String(row.runs), String(row.failures), row.firstFailure.replace(/\|/g, '\\|')]);
  return [`| ${header.join(' | ')} |`, '|---|---:|---:|---|', ...cells.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'treff-test-repeat-'));
  if (options.keepLogs) mkdirSync(options.keepLogs, { recursive: true });
  const deadline = Date.now() + options.maxMinutes * 60_000;
  const stress = options.stress ? startStress(options.stressWorkers, options.maxMinutes) : undefined;
  const stopStress = () => stress?.stop();
  const interrupted = () => {
    void Promise.all([current && endGroup(current.child, current.exited), stopStress()]).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const rows = new Map<string, Row>();
  const runs: RunResult[] = [];
  try {
    for (let index = 1; index <= options.runs; index++) {
      if (Date.now() >= deadline) {
        console.error(`--max-minutes ${options.maxMinutes} reached: ${index - 1} of ${options.runs} runs made`);
        break;
      }
      console.error(`run ${index}/${options.runs}${options.stress ? ` under stress-ng --cpu ${options.stressWorkers}` : ''}: ${options.files.join(' ')}`);
      const result = await runOnce(options, index, dir, deadline);
      runs.push(result);
      for (const outcome of result.outcomes) {
        const row = rows.get(outcome.key) ?? { test: outcome.key, runs: 0, failures: 0, firstFailure: '' };
        row.runs += 1;
        if (!outcome.passed) {
          row.failures += 1;
          if (!row.firstFailure) row.firstFailure = `run ${index}: ${outcome.message}`;
        }
        rows.set(outcome.key, row);
      }
      if (result.broken) {
        const key = `(run ${index})`;
        rows.set(key, { test: key, runs: 1, failures: 1, firstFailure: result.broken });
      }
      const failed = result.outcomes.filter((o) => !o.passed).length;
      console.error(`run ${index}: ${result.seconds} s, ${result.outcomes.filter((o) => !o.key.endsWith('(file)')).length} tests, ${failed} failed${result.broken ? `; ${result.broken}` : ''}`);
    }
  } finally {
    await stopStress();
    rmSync(dir, { recursive: true, force: true });
  }

  // Failures first, then by name; the per-file "(file)" rows only when they failed.
  const sorted = [...rows.values()]
    .filter((row) => row.failures > 0 || (!options.failedOnly && !row.test.endsWith('› (file)')))
    .sort((a, b) => b.failures - a.failures || a.test.localeCompare(b.test));
  const totalFailures = sorted.reduce((sum, row) => sum + row.failures, 0);
  const shown = sorted.filter((row) => !options.failedOnly || row.failures > 0);
  console.log(table(shown));
  console.log(
    `\n${runs.length} run(s) of ${options.files.join(' ')}${options.stress ? ` under stress-ng --cpu ${options.stressWorkers}` : ''}: ` +
      `${[...rows.values()].filter((row) => !row.test.endsWith('› (file)')).length} tests, ${sorted.filter((row) => row.failures > 0).length} failed at least once, ${totalFailures} failure(s); run times ${runs.map((r) => `${r.seconds} s`).join(', ')}`,
  );
  if (options.json) writeFileSync(options.json, JSON.stringify({ options, runs: runs.map((r) => ({ seconds: r.seconds, broken: r.broken })), rows: sorted }, null, 2));
  process.exitCode = totalFailures > 0 || runs.length < options.runs ? 1 : 0;
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(2);
});

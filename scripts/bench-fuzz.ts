// Structure-aware fuzz benchmark (issue 11): the generator of test/integration/fuzz-structured.test.ts,
// for a million messages or more, against the real server as its own process (`signal/main.ts`
// with --expose-gc and a SIGUSR2 → gc() hook, so its memory after a forced GC can be read).
//
//   npm run bench:fuzz -- [--messages 1000000] [--max-minutes 15] [--lanes 48] [--seed N] [--replay lane:scenario] [--json]
//
// Reports messages per second, the server's heap and RSS after a forced GC before and after,
// errors by code, close codes, anything the checks found and, if the server died, its exit and the
// scenarios in flight (each replayable alone with --replay). The seed defaults to the fixed one of
// the CI test, TREFF_FUZZ_SEED overrides it, --seed too. Exit code 1 when anything was found.

import {
  describeReport,
  fuzzSeed,
  runFuzz,
  seatsStillHeld,
  startFuzzTarget,
  waitForEmpty,
  FUZZ_SERVER_ENV,
  type FuzzReport,
} from '../test/helpers/protocol-arbitraries.js';

const argv = process.argv.slice(2);
const value = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const messages = Number(value('messages', '1000000'));
const maxMinutes = Number(value('max-minutes', '15'));
const lanes = Number(value('lanes', '48'));
const seed = Number(value('seed', String(fuzzSeed())));
const replay = /^(\d+):(\d+)$/.exec(value('replay', ''));
if (!(messages >= 1 && messages <= 20_000_000)) throw new Error('--messages must be 1–20,000,000');
if (!(maxMinutes > 0 && maxMinutes <= 120)) throw new Error('--max-minutes must be at most 120');
if (!(lanes >= 1 && lanes <= 128)) throw new Error('--lanes must be 1–128');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const log = (line: string) => process.stderr.write(line + '\n');

const target = await startFuzzTarget();
log(`server pid ${target.child.pid} on port ${target.port}; settings changed: ${JSON.stringify(FUZZ_SERVER_ENV)}; seed ${seed}`);
let crashed = false;
let stopping = false;
void target.exited.then(() => {
  if (stopping) return;
  crashed = true;
  log(`THE SERVER EXITED: ${JSON.stringify(target.exit)}\n${target.output().slice(-4000)}`);
});

// Warm-up (another seed), so the baseline has the server's code compiled and its maps grown once.
const warmup = await runFuzz({ wsUrl: target.wsUrl, seed: seed + 7919, messages: 5000, lanes: Math.min(lanes, 16), deadline: Date.now() + 60_000, stop: () => crashed });
if (crashed) {
  console.log(describeReport(warmup, `npm run bench:fuzz (warm-up seed ${seed + 7919})`));
  process.exit(1);
}
const warmState = await waitForEmpty(target);
const before = await target.memoryAfterGc();
log(`warm-up: ${warmup.sent} frames; server then ${JSON.stringify(warmState)}; heap ${mb(before.heapUsed)} MB, RSS ${mb(before.rss)} MB after GC`);

const started = Date.now();
let lastProgress = started;
const report: FuzzReport = await runFuzz({
  wsUrl: target.wsUrl,
  seed,
  messages,
  lanes,
  deadline: started + maxMinutes * 60_000,
  ...(replay ? { only: { lane: Number(replay[1]), index: Number(replay[2]) } } : {}),
  stop: () => crashed,
  keepLog: true,
  onScenario: (_lane, _index, sent) => {
    if (Date.now() - lastProgress < 10_000) return;
    lastProgress = Date.now();
    const seconds = (Date.now() - started) / 1000;
    log(`${sent} frames in ${seconds.toFixed(0)} s (${Math.round(sent / seconds)}/s)`);
  },
});
const elapsed = Date.now() - started;

let after: NodeJS.MemoryUsage | undefined;
let state;
let held: string[] = [];
if (!crashed) {
  state = await waitForEmpty(target);
  held = await seatsStillHeld(target.wsUrl, report.tokens, JSON.stringify(state) === JSON.stringify({ connections: 0, rooms: 0, participants: 0, storedMeetings: 0 }) ? 200 : Infinity);
  state = await waitForEmpty(target);
  after = await target.memoryAfterGc();
}
const metrics = crashed ? new Map<string, number>() : await target.metrics();
stopping = true;
await target.stop();

const result = {
  seed,
  messages: report.sent,
  megabytes: Number(mb(report.bytes)),
  scenarios: report.scenarios,
  connections: report.connections,
  seconds: Number((elapsed / 1000).toFixed(1)),
  messagesPerSecond: Math.round(report.sent / (elapsed / 1000)),
  relayedDeep: report.relayedDeep,
  passwordRaces: report.passwordRaces,
  oversized: report.oversized,
  serverAlive: !crashed,
  exit: target.exit && crashed ? target.exit : undefined,
  heapBeforeMB: Number(mb(before.heapUsed)),
  heapAfterMB: after ? Number(mb(after.heapUsed)) : undefined,
  rssBeforeMB: Number(mb(before.rss)),
  rssAfterMB: after ? Number(mb(after.rss)) : undefined,
  stateAfter: state,
  seatsStillHeld: held.length,
  errorsByCode: Object.fromEntries([...report.errors].sort(([a], [b]) => a.localeCompare(b))),
  closeCodes: Object.fromEntries(report.serverCloses),
  serverRefusals: Object.fromEntries([...metrics].filter(([key]) => key.startsWith('treff_refusals_total')).map(([key, n]) => [/reason="([^"]*)"/.exec(key)?.[1] ?? key, n])),
  serverMessagesReceived: metrics.get('treff_messages_received_total'),
  findings: report.findings.length,
};
if (argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  console.log(describeReport(report, 'npm run bench:fuzz'));
  console.log(JSON.stringify(result, null, 2));
}
if (crashed) console.log(`server output (last 3000 characters):\n${target.output().slice(-3000)}`);
process.exitCode = crashed || report.findings.length > 0 || held.length > 0 ? 1 : 0;

// Load benchmark: N concurrent WebSocket clients (default 10,000) on loopback, in meetings of 4,
// against the real server started as an operator would. Reports whether joins are still answered
// at that load, how fast, and the server's memory per connection (from its /metrics).
//
//   node --import tsx scripts/bench-load.ts [clients]

import { runLoad } from '../test/helpers/load.js';

const clients = Math.min(Number(process.argv[2] ?? 10_000), 15_000);
console.log(JSON.stringify(await runLoad({ clients }), null, 2));

// Counters for /metrics in the Prometheus text format. Labels take values only from fixed sets
// (error codes, refusal reasons), never from anything a user typed: no meeting names, no
// display names, no addresses.

export type MetricType = 'counter' | 'gauge';

interface Family {
  name: string;
  type: MetricType;
  help: string;
  /** The one label this family is broken down by, if any. */
  label?: string;
}

export const FAMILIES = {
  connectionsOpened: { name: 'treff_connections_opened_total', type: 'counter', help: 'WebSocket connections accepted' },
  connections: { name: 'treff_connections', type: 'gauge', help: 'open WebSocket connections' },
  rooms: { name: 'treff_rooms', type: 'gauge', help: 'meetings with at least one participant' },
  participants: { name: 'treff_participants', type: 'gauge', help: 'participants in meetings' },
  joins: { name: 'treff_joins_total', type: 'counter', help: 'participants who joined a meeting' },
  messagesReceived: { name: 'treff_messages_received_total', type: 'counter', help: 'signalling messages received from clients' },
  signalsRelayed: { name: 'treff_signals_relayed_total', type: 'counter', help: 'offers, answers and candidates passed on to another participant' },
  refusals: { name: 'treff_refusals_total', type: 'counter', help: 'requests and messages refused, by reason (protocol error code or connection refusal)', label: 'reason' },
  handlerFailures: { name: 'treff_handler_failures_total', type: 'counter', help: 'messages or results whose handling failed unexpectedly; only that connection was closed (1011), by stage', label: 'stage' },
  passwordHashes: { name: 'treff_password_hashes_total', type: 'counter', help: 'scrypt hashes started (password checks and new passwords)' },
  passwordHashesFinished: { name: 'treff_password_hashes_finished_total', type: 'counter', help: 'scrypt hashes finished, whether their result was still wanted or not' },
  tlsReloads: { name: 'treff_tls_reloads_total', type: 'counter', help: 'certificate reloads on SIGHUP, by result', label: 'result' },
  tlsExpiry: { name: 'treff_tls_certificate_expiry_timestamp_seconds', type: 'gauge', help: 'when the served certificate expires (Unix time)' },
  relayUp: { name: 'treff_relay_up', type: 'gauge', help: '1 when the TURN relay is running (or external), 0 otherwise' },
  relayRestarts: { name: 'treff_relay_restarts_total', type: 'counter', help: 'times the supervised coturn process was restarted' },
  clusterRedisUp: { name: 'treff_cluster_redis_up', type: 'gauge', help: '1 while this node reaches the cluster\'s Redis, 0 while it does not (leases and stored meeting rules are then best effort)' },
  clusterLeases: { name: 'treff_cluster_leases', type: 'gauge', help: 'meetings this node holds the lease of' },
  clusterUpgrades: { name: 'treff_cluster_upgrades_total', type: 'counter', help: 'WebSocket upgrades in a cluster, by outcome (owned, taken-over, moved, draining, unchecked while Redis is down)', label: 'outcome' },
  clusterRedisErrors: { name: 'treff_cluster_redis_errors_total', type: 'counter', help: 'Redis commands that failed or timed out, by what they were for', label: 'operation' },
  residentMemory: { name: 'process_resident_memory_bytes', type: 'gauge', help: 'resident memory of the server process' },
  heapUsed: { name: 'nodejs_heap_used_bytes', type: 'gauge', help: 'V8 heap in use' },
  uptime: { name: 'process_uptime_seconds', type: 'gauge', help: 'seconds since the server process started' },
} as const satisfies Record<string, Family>;

export type FamilyKey = keyof typeof FAMILIES;

/** Counts that only grow; gauges are read fresh at each scrape through `Gauges`. */
export class Counters {
  private readonly values = new Map<FamilyKey, Map<string, number>>();

  inc(family: FamilyKey, labelValue = '', by = 1): void {
    let series = this.values.get(family);
    if (!series) this.values.set(family, (series = new Map()));
    series.set(labelValue, (series.get(labelValue) ?? 0) + by);
  }

  get(family: FamilyKey, labelValue = ''): number {
    return this.values.get(family)?.get(labelValue) ?? 0;
  }

  series(family: FamilyKey): Map<string, number> {
    return this.values.get(family) ?? new Map();
  }
}

export type Gauges = Partial<Record<FamilyKey, number | undefined>>;

/** Renders every family, in table order, with HELP and TYPE even before anything was counted; `node`: a cluster node's id (set by the operator). */
export function renderMetrics(counters: Counters, gauges: Gauges, node?: string): string {
  const lines: string[] = [];
  if (node !== undefined) lines.push('# HELP treff_node_info this node of a cluster', '# TYPE treff_node_info gauge', `treff_node_info{node="${escapeLabel(node)}"} 1`);
  for (const [key, family] of Object.entries(FAMILIES) as Array<[FamilyKey, Family]>) {
    const gauge = gauges[key];
    const series = counters.series(key);
    if (family.type === 'gauge' && gauge === undefined) continue;
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    if (gauge !== undefined) {
      lines.push(`${family.name} ${formatNumber(gauge)}`);
    } else if (family.label) {
      for (const [value, count] of [...series].sort(([a], [b]) => a.localeCompare(b))) lines.push(`${family.name}{${family.label}="${escapeLabel(value)}"} ${formatNumber(count)}`);
    } else {
      lines.push(`${family.name} ${formatNumber(series.get('') ?? 0)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

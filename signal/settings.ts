// Every setting Treff has, in one table: its environment variable, its key in the config file,
// its command-line flag, its default and range. `--help`, the config-file reader, the flag parser
// and docs/configuration.md are all generated from this table, so they cannot drift apart.

interface Base {
  /** Environment variable; also the name every error message uses. */
  env: string;
  /** Dotted path in the JSON config file: "tls.cert" is { "tls": { "cert": … } }. */
  key: string;
  help: string;
}

export interface IntegerSetting extends Base {
  type: 'integer';
  default: number | undefined;
  /** What --help shows when the default is computed at start. */
  defaultText?: string;
  min: number;
  max: number;
}
export interface TextSetting extends Base {
  type: 'text';
  /** Shown in --help; undefined when the default is computed or there is none. */
  default: string | undefined;
  /** What --help shows when the default is computed at start. */
  defaultText?: string;
  /** Kept out of --help output and error messages. */
  secret?: boolean;
}
export interface ChoiceSetting<T extends string = string> extends Base {
  type: 'choice';
  values: readonly T[];
  default: T;
}
export interface BooleanSetting extends Base {
  type: 'boolean';
  default: boolean;
}
export interface ListSetting extends Base {
  type: 'list';
}

export type Setting = IntegerSetting | TextSetting | ChoiceSetting | BooleanSetting | ListSetting;

// Generic so each entry keeps its own types: a setting with a numeric default is known to have one.
const integer = <const S extends Omit<IntegerSetting, 'type'>>(s: S) => ({ type: 'integer' as const, ...s });
const text = <const S extends Omit<TextSetting, 'type'>>(s: S) => ({ type: 'text' as const, ...s });
const choice = <const T extends string>(s: Omit<ChoiceSetting<T>, 'type'>): ChoiceSetting<T> => ({ type: 'choice', ...s });
const boolean = (s: Omit<BooleanSetting, 'type'>): BooleanSetting => ({ type: 'boolean', ...s });
const list = (s: Omit<ListSetting, 'type'>): ListSetting => ({ type: 'list', ...s });

export const LANGUAGES = ['de', 'en'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const SETTINGS = {
  // The server
  host: text({ env: 'TREFF_HOST', key: 'host', default: '0.0.0.0', help: 'address to listen on' }),
  port: integer({ env: 'TREFF_PORT', key: 'port', default: 8080, min: 0, max: 65535, help: 'HTTP(S) and WebSocket port' }),
  publicHost: text({ env: 'TREFF_PUBLIC_HOST', key: 'publicHost', default: undefined, help: 'host name users type, e.g. meet.example.org; shown at start, used for redirects; when set, only this name (its allowed origins and loopback) is served and may open the WebSocket (DNS rebinding): set it on every networked install' }),
  staticDir: text({ env: 'TREFF_STATIC_DIR', key: 'staticDir', default: undefined, defaultText: 'dist/client', help: 'the built client' }),
  dataDir: text({ env: 'TREFF_DATA_DIR', key: 'dataDir', default: 'data', help: 'where the TURN secret, the meeting store (each running meeting\'s password hash, lock, lobby, moderator and member ids, kept across restarts), the generated coturn configuration and `npm run cert` certificates live' }),
  // HTTPS
  tlsCert: text({ env: 'TREFF_TLS_CERT', key: 'tls.cert', default: undefined, help: 'certificate (PEM, full chain) to serve HTTPS directly; reloaded on SIGHUP' }),
  tlsKey: text({ env: 'TREFF_TLS_KEY', key: 'tls.key', default: undefined, help: 'private key (PEM) of that certificate' }),
  httpRedirectPort: integer({ env: 'TREFF_HTTP_REDIRECT_PORT', key: 'tls.httpRedirectPort', default: undefined, min: 1, max: 65535, help: 'also listen on this port with plain HTTP and redirect to HTTPS (e.g. 80)' }),
  hstsMaxAge: integer({ env: 'TREFF_HSTS_MAX_AGE', key: 'tls.hstsMaxAge', default: 31536000, min: 0, max: 63072000, help: 'seconds browsers remember to use HTTPS only (Strict-Transport-Security), sent over HTTPS' }),
  // Meetings and limits
  roomCapacity: integer({ env: 'TREFF_ROOM_CAPACITY', key: 'roomCapacity', default: 8, min: 2, max: 50, help: 'most participants sending video in one meeting (a mesh sends every stream to everyone)' }),
  audioOnlyCapacity: integer({ env: 'TREFF_AUDIO_ONLY_CAPACITY', key: 'audioOnlyCapacity', default: undefined, defaultText: 'roomCapacity + 4', min: 2, max: 60, help: 'most participants in one meeting counting those who join audio-only once video is full (at least roomCapacity; equal turns audio-only seats off)' }),
  uplinkBudget: integer({ env: 'TREFF_UPLINK_BUDGET_KBPS', key: 'media.uplinkBudgetKbps', default: 2500, min: 300, max: 100000, help: 'kbit/s one participant uploads at most, in total: shared out across the others, sound first' }),
  maxMessageBytes: integer({ env: 'TREFF_MAX_MESSAGE_BYTES', key: 'limits.maxMessageBytes', default: 64 * 1024, min: 4096, max: 1024 * 1024, help: 'largest signalling message; a bigger one closes the connection' }),
  seatGrace: integer({ env: 'TREFF_SEAT_GRACE', key: 'limits.seatGrace', default: 20, min: 0, max: 600, help: 'seconds a participant whose connection to the server dropped keeps their place (their calls go on); back within this time, nobody notices' }),
  idleTimeout: integer({ env: 'TREFF_IDLE_TIMEOUT', key: 'limits.idleTimeout', default: 32, min: 8, max: 960, help: 'seconds of silence before a WebSocket is dropped (the server pings in between)' }),
  rateBurst: integer({ env: 'TREFF_RATE_BURST', key: 'limits.rateBurst', default: 400, min: 10, max: 100000, help: 'messages one connection may send at once (joining a full meeting sends a few hundred)' }),
  ratePerSecond: integer({ env: 'TREFF_RATE_PER_SECOND', key: 'limits.ratePerSecond', default: 100, min: 1, max: 100000, help: 'messages per second one connection may keep sending' }),
  rateMaxRefused: integer({ env: 'TREFF_RATE_MAX_REFUSED', key: 'limits.rateMaxRefused', default: 200, min: 1, max: 100000, help: 'refused messages after which a flooding connection is closed (4008)' }),
  connectionsPerAddress: integer({ env: 'TREFF_CONNECTIONS_PER_ADDRESS', key: 'limits.connectionsPerAddress', default: 64, min: 1, max: 100000, help: 'open WebSockets allowed from one IP address (an IPv6 /64 counts as one; an office behind NAT shares one); more are closed with 4029' }),
  knocksPerAddress: integer({ env: 'TREFF_KNOCKS_PER_ADDRESS', key: 'limits.knocksPerAddress', default: 30, min: 1, max: 100000, help: 'lobby knocks one IP address (IPv6: one /64) may make in 10 minutes, across all meetings; more are refused with rate-limited' }),
  relayCredentialsPerAddress: integer({ env: 'TREFF_RELAY_CREDENTIALS_PER_ADDRESS', key: 'limits.relayCredentialsPerAddress', default: 60, min: 1, max: 100000, help: 'relay credentials handed to one IP address (IPv6: one /64) in 10 minutes; past that its participants call without the relay until the window moves on' }),
  // Who may connect
  allowedOrigins: list({ env: 'TREFF_ALLOWED_ORIGINS', key: 'allowedOrigins', help: 'further web origins (https://host[:port]) whose pages may open the WebSocket; the page\'s own origin always may' }),
  trustProxy: boolean({ env: 'TREFF_TRUST_PROXY', key: 'trustProxy', default: false, help: 'behind a reverse proxy: take the client address from its X-Forwarded-For header (for the per-address limit)' }),
  // What the client shows
  privacyUrl: text({ env: 'TREFF_PRIVACY_URL', key: 'footerLinks.privacy', default: undefined, help: 'link to the privacy notice, in the footer (https: or a /path on this server)' }),
  imprintUrl: text({ env: 'TREFF_IMPRINT_URL', key: 'footerLinks.imprint', default: undefined, help: 'link to the imprint (Impressum), in the footer (https: or a /path on this server)' }),
  helpUrl: text({ env: 'TREFF_HELP_URL', key: 'footerLinks.help', default: undefined, help: 'link to the town\'s help page, in the footer (https: or a /path on this server)' }),
  defaultLanguage: choice({ env: 'TREFF_DEFAULT_LANGUAGE', key: 'defaultLanguage', values: LANGUAGES, default: 'en', help: 'language for browsers that prefer none of Treff\'s languages' }),
  // Operations
  logLevel: choice({ env: 'TREFF_LOG_LEVEL', key: 'logLevel', values: LOG_LEVELS, default: 'info', help: 'least important log lines written (JSON, one per line, to stdout)' }),
  metricsToken: text({ env: 'TREFF_METRICS_TOKEN', key: 'metricsToken', default: undefined, secret: true, help: 'bearer token for /metrics (at least 16 characters); without it only loopback clients get metrics' }),
  // Several nodes (docs/scale.md)
  redisUrl: text({ env: 'TREFF_REDIS_URL', key: 'cluster.redisUrl', default: undefined, secret: true, help: 'redis://[:password@]host:port of the Redis shared by several Treff nodes behind HAProxy; without it Treff is one node and needs neither' }),
  nodeId: text({ env: 'TREFF_NODE_ID', key: 'cluster.nodeId', default: undefined, defaultText: 'the host name', help: 'this node\'s name in a cluster, in logs, metrics and meeting leases (letters, digits, . _ -; unique per node)' }),
  drainDelay: integer({ env: 'TREFF_DRAIN_DELAY', key: 'cluster.drainDelay', default: 3, min: 0, max: 60, help: 'seconds a draining node (SIGTERM) fails /readyz before it moves its participants, so the load balancer has stopped sending it new ones' }),
  // The relay
  turnMode: choice({ env: 'TREFF_TURN', key: 'turn.mode', values: ['internal', 'external', 'off'], default: 'internal', help: 'internal (run coturn), external (your coturn), off' }),
  turnHost: text({ env: 'TREFF_TURN_HOST', key: 'turn.host', default: undefined, defaultText: 'the host the browser used', help: 'name or address browsers use for the relay' }),
  turnPort: integer({ env: 'TREFF_TURN_PORT', key: 'turn.port', default: 10000, min: 1, max: 65535, help: 'TURN/STUN port, UDP and TCP' }),
  turnCert: text({ env: 'TREFF_TURN_CERT', key: 'turn.cert', default: undefined, help: 'certificate for TURN over TLS (turns:), valid for the relay host' }),
  turnKey: text({ env: 'TREFF_TURN_KEY', key: 'turn.key', default: undefined, help: 'its private key' }),
  turnTlsPort: integer({ env: 'TREFF_TURN_TLS_PORT', key: 'turn.tlsPort', default: 443, min: 1, max: 65535, help: 'TURN over TLS port' }),
  turnSecret: text({ env: 'TREFF_TURN_SECRET', key: 'turn.secret', default: undefined, defaultText: 'generated into <dataDir>/turn-secret', secret: true, help: 'secret shared with coturn (at least 16 characters)' }),
  turnSecretFile: text({ env: 'TREFF_TURN_SECRET_FILE', key: 'turn.secretFile', default: undefined, help: 'read the shared secret from this file instead (e.g. one shared with an external coturn)' }),
  turnTtl: integer({ env: 'TREFF_TURN_TTL', key: 'turn.ttl', default: 4 * 3600, min: 60, max: 7 * 24 * 3600, help: 'lifetime of relay credentials in seconds' }),
  turnListenIp: text({ env: 'TREFF_TURN_LISTEN_IP', key: 'turn.listenIp', default: undefined, help: 'IPv4 address coturn listens on' }),
  turnRelayIp: text({ env: 'TREFF_TURN_RELAY_IP', key: 'turn.relayIp', default: undefined, defaultText: 'first non-loopback IPv4', help: 'IPv4 address coturn relays from' }),
  turnExternalIp: text({ env: 'TREFF_TURN_EXTERNAL_IP', key: 'turn.externalIp', default: undefined, help: 'public IPv4 address when behind 1:1 NAT' }),
  turnMinPort: integer({ env: 'TREFF_TURN_MIN_PORT', key: 'turn.minPort', default: 49152, min: 1024, max: 65535, help: 'lowest relay port (UDP)' }),
  turnMaxPort: integer({ env: 'TREFF_TURN_MAX_PORT', key: 'turn.maxPort', default: 65535, min: 1024, max: 65535, help: 'highest relay port (UDP)' }),
  turnRelays: list({ env: 'TREFF_TURN_RELAYS', key: 'turn.relays', help: 'further relays sharing the secret, as host:port@region (e.g. turn2.example.org:3478@north): each browser gets the relays of this node\'s region, at least two, so losing one relay costs an ICE restart, not the call' }),
  region: text({ env: 'TREFF_REGION', key: 'turn.region', default: undefined, help: 'this node\'s region: its browsers get the relays of TREFF_TURN_RELAYS marked with it first' }),
  turnAllowedPeerIps: list({ env: 'TREFF_TURN_ALLOWED_PEER_IPS', key: 'turn.allowedPeerIps', help: 'further own IPv4 addresses relayed participants may reach' }),
} as const;

export const SETTING_LIST: readonly Setting[] = Object.values(SETTINGS);

/** TREFF_TURN_MIN_PORT → --turn-min-port */
export function flagOf(setting: Setting): string {
  return '--' + setting.env.replace(/^TREFF_/, '').toLowerCase().replace(/_/g, '-');
}

function describeDefault(setting: Setting): string {
  if ((setting.type === 'text' || setting.type === 'integer') && setting.defaultText) return setting.defaultText;
  if (setting.type === 'list') return '—';
  return setting.default === undefined ? '—' : String(setting.default);
}

function describeValues(setting: Setting): string {
  switch (setting.type) {
    case 'integer':
      return `${setting.min}–${setting.max}`;
    case 'choice':
      return setting.values.join(' | ');
    case 'boolean':
      return 'true | false';
    case 'list':
      return 'comma-separated';
    case 'text':
      return '';
  }
}

export function helpText(): string {
  const lines = [
    'Usage: npm start -- [--config <file.json>] [--<setting> <value> ...]',
    '',
    'Treff reads its settings, each later source overriding the earlier:',
    '  1. the JSON config file (--config or TREFF_CONFIG), keys as shown in [brackets]',
    '  2. environment variables',
    '  3. command-line flags',
    'Signals: SIGHUP reloads the TLS certificate, SIGTERM/SIGINT shut down (in a cluster: drain, moving participants to another node).',
    '',
    'Options:',
    '  --help, -h                 show this help',
    '  --config <file>            TREFF_CONFIG  JSON config file',
  ];
  for (const setting of SETTING_LIST) {
    const values = describeValues(setting);
    lines.push(`  ${flagOf(setting).padEnd(26)} ${setting.env}  [${setting.key}]`);
    lines.push(`      ${setting.help}${values ? ` (${values})` : ''}; default: ${describeDefault(setting)}`);
  }
  return lines.join('\n') + '\n';
}

/** The same table for docs/configuration.md and the README. */
export function settingsMarkdown(): string {
  const rows = SETTING_LIST.map((s) => {
    const values = describeValues(s);
    return `| \`${s.env}\` | \`${s.key}\` | \`${flagOf(s)}\` | ${describeDefault(s).replace(/\|/g, '\\|')} | ${s.help.replace(/\|/g, '\\|')}${values ? ` (${values.replace(/\|/g, '\\|')})` : ''} |`;
  });
  return ['| environment | config file | flag | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

// The server's plain HTTP routes: static client, health, readiness, metrics and client settings,
// each for GET and HEAD, behind the framing and Host checks (SECURITY.md, "HTTP").
// Registered once per app (a certificate reload makes a new app); the WebSocket lives in server.ts.

import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { ClusterStatus } from './cluster/node.js';
import type { Config } from './config.js';
import { framingRefusal, metricsAccess, plainAnswer, send, type Answer, type Headers } from './http.js';
import type { Logger } from './log.js';
import { renderMetrics, type Counters } from './metrics.js';
import { hostCheckWarning, isServedHost } from './origin.js';
import { chooseEncoding, isAppPath, type StaticFile } from './static.js';
import { loadNativeUws } from './uws.js';

export interface HttpRoutesContext {
  config: Config;
  /** Security headers sent with every answer. */
  headers: Headers;
  files: ReadonlyMap<string, StaticFile>;
  index: StaticFile;
  counters: Counters;
  /** Whether this node takes new meetings (false while shutting down or not listening). */
  readiness: () => { ready: boolean; reason?: string };
  /** Gauges for /metrics, read at request time. */
  gauges: () => { connections: number; rooms: number; participants: number; relay?: { up: boolean; restarts: number }; tlsExpiry?: number; cluster?: ClusterStatus };
  /** For the start-up warning about a server without publicHost on a network address. */
  logger?: Pick<Logger, 'warn'>;
}

/** Health answers say only "ok"/"ready" and are probed by address by load balancers: any Host. */
const ANY_HOST_PATHS = new Set(['/healthz', '/readyz']);

// One warning per configuration, not one per app: a certificate reload registers the routes again.
const warned = new WeakSet<Config>();

/**
 * uWS writes a `uWebSockets: 20` header into every answer (its HttpResponse::writeMark) unless the
 * event loop is told to be silent. This build has no documented switch, but its undocumented
 * `_cfg("silent")` sets the loop's flag (measured: the header is gone from every answer of every
 * app on the loop, the redirect listener and the WebSocket handshake included). The Date header
 * stays: uWS writes it unconditionally. If a later build drops `_cfg`, the banner comes back and
 * the hostile-HTTP test says so.
 */
function silenceServerBanner(): void {
  const uws = loadNativeUws() as unknown as { _cfg?: (key: string) => void };
  uws._cfg?.('silent');
}

export function registerHttpRoutes(app: TemplatedApp, context: HttpRoutesContext): void {
  const { config, headers, files, index, counters } = context;
  silenceServerBanner();
  const clientConfigJson = JSON.stringify(config.client);
  const text = 'text/plain; charset=utf-8';

  const warning = hostCheckWarning(config.host, config.publicHost);
  if (warning && context.logger && !warned.has(config)) {
    warned.add(config);
    context.logger.warn(warning, { host: config.host });
  }

  /** The framing and Host checks every route makes first; undefined when the request may go on. */
  const refusal = (req: HttpRequest, path: string): Answer | undefined => {
    const list: Array<[string, string]> = [];
    req.forEach((name, value) => list.push([name, value]));
    const framing = framingRefusal(req.getMethod(), list);
    if (framing) {
      counters.inc('refusals', 'http-framing');
      return { ...plainAnswer('400 Bad Request', headers, text, `bad request: ${framing}`), close: true };
    }
    if (!ANY_HOST_PATHS.has(path) && !isServedHost(req.getHeader('host'), config)) {
      counters.inc('refusals', 'http-host');
      // 421: this server does not answer for that name (RFC 9110, 15.5.20).
      return plainAnswer('421 Misdirected Request', headers, text, 'this Treff server does not answer under that name');
    }
    return undefined;
  };

  /** GET and HEAD for one pattern, with the same answer (HEAD without its body). */
  const get = (pattern: string, answer: (res: HttpResponse, req: HttpRequest) => Answer) => {
    const handler = (head: boolean) => (res: HttpResponse, req: HttpRequest) => {
      send(res, refusal(req, req.getUrl()) ?? answer(res, req), head);
    };
    app.get(pattern, handler(false));
    app.head(pattern, handler(true));
  };

  get('/healthz', () => plainAnswer('200 OK', headers, text, 'ok'));

  get('/readyz', () => {
    const state = context.readiness();
    return state.ready ? plainAnswer('200 OK', headers, text, state.reason ? `ready (${state.reason})` : 'ready') : plainAnswer('503 Service Unavailable', headers, text, `not ready: ${state.reason ?? 'unknown'}`);
  });

  get('/metrics', (res, req) => {
    const access = metricsAccess({
      token: config.metricsToken,
      authorization: req.getHeader('authorization'),
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      proxied: Boolean(req.getHeader('x-forwarded-for') || req.getHeader('forwarded') || req.getHeader('x-real-ip')),
    });
    if (access === 'unauthorized') return plainAnswer('401 Unauthorized', headers, text, 'metrics need the bearer token', [['WWW-Authenticate', 'Bearer']]);
    if (access === 'forbidden') return plainAnswer('403 Forbidden', headers, text, 'metrics are served to this machine only (or set TREFF_METRICS_TOKEN)');
    const { relay, cluster, ...gauges } = context.gauges();
    const memory = process.memoryUsage();
    const body = renderMetrics(counters, {
      ...gauges,
      relayUp: relay ? Number(relay.up) : undefined,
      relayRestarts: relay?.restarts,
      residentMemory: memory.rss,
      heapUsed: memory.heapUsed,
      uptime: Math.round(process.uptime()),
      clusterRedisUp: cluster ? Number(cluster.redisUp) : undefined,
      clusterLeases: cluster?.leases,
    }, cluster?.node);
    return plainAnswer('200 OK', headers, 'text/plain; version=0.0.4; charset=utf-8', body);
  });

  get('/client-config.json', () => plainAnswer('200 OK', headers, 'application/json; charset=utf-8', clientConfigJson));

  get('/*', (_res, req) => {
    const path = req.getUrl();
    const file = files.get(path) ?? (isAppPath(path) ? index : undefined);
    if (!file) return plainAnswer('404 Not Found', headers, text, 'not found');
    return fileAnswer(file, req.getHeader('accept-encoding'), headers);
  });

  app.any('/*', (res, req) => {
    send(res, refusal(req, req.getUrl()) ?? plainAnswer('405 Method Not Allowed', headers, text, 'method not allowed', [['Allow', 'GET, HEAD']]), req.getMethod() === 'head');
  });
}

function fileAnswer(file: StaticFile, acceptEncoding: string, security: Headers): Answer {
  const encoding = chooseEncoding(file, acceptEncoding);
  const body = encoding === 'identity' ? file.identity : file[encoding]!;
  return {
    status: '200 OK',
    headers: [
      ['Content-Type', file.contentType],
      ['Cache-Control', file.cacheControl],
      ['Vary', 'Accept-Encoding'],
      ...(encoding !== 'identity' ? ([['Content-Encoding', encoding]] as const) : []),
      ...security,
    ],
    body,
  };
}

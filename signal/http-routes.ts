// The server's plain HTTP routes: static client, health, readiness, metrics and client settings.
// Registered once per app (a certificate reload makes a new app); the WebSocket lives in server.ts.

import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Config } from './config.js';
import { metricsAccess, respond, type Headers } from './http.js';
import { renderMetrics, type Counters } from './metrics.js';
import { chooseEncoding, isAppPath, type StaticFile } from './static.js';

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
  gauges: () => { connections: number; rooms: number; participants: number; relay?: { up: boolean; restarts: number }; tlsExpiry?: number };
}

export function registerHttpRoutes(app: TemplatedApp, context: HttpRoutesContext): void {
  const { config, headers, files, index, counters } = context;
  const clientConfigJson = JSON.stringify(config.client);

  app.get('/healthz', (res) => respond(res, '200 OK', headers, 'text/plain; charset=utf-8', 'ok'));

  app.get('/readyz', (res) => {
    const state = context.readiness();
    if (state.ready) respond(res, '200 OK', headers, 'text/plain; charset=utf-8', 'ready');
    else respond(res, '503 Service Unavailable', headers, 'text/plain; charset=utf-8', `not ready: ${state.reason ?? 'unknown'}`);
  });

  app.get('/metrics', (res, req) => {
    const access = metricsAccess({
      token: config.metricsToken,
      authorization: req.getHeader('authorization'),
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      proxied: Boolean(req.getHeader('x-forwarded-for') || req.getHeader('forwarded') || req.getHeader('x-real-ip')),
    });
    if (access === 'unauthorized') return respond(res, '401 Unauthorized', headers, 'text/plain; charset=utf-8', 'metrics need the bearer token', [['WWW-Authenticate', 'Bearer']]);
    if (access === 'forbidden') return respond(res, '403 Forbidden', headers, 'text/plain; charset=utf-8', 'metrics are served to this machine only (or set TREFF_METRICS_TOKEN)');
    const { relay, ...gauges } = context.gauges();
    const memory = process.memoryUsage();
    const body = renderMetrics(counters, {
      ...gauges,
      relayUp: relay ? Number(relay.up) : undefined,
      relayRestarts: relay?.restarts,
      residentMemory: memory.rss,
      heapUsed: memory.heapUsed,
      uptime: Math.round(process.uptime()),
    });
    respond(res, '200 OK', headers, 'text/plain; version=0.0.4; charset=utf-8', body);
  });

  app.get('/client-config.json', (res) => respond(res, '200 OK', headers, 'application/json; charset=utf-8', clientConfigJson));

  app.get('/*', (res, req) => {
    const path = req.getUrl();
    const file = files.get(path) ?? (isAppPath(path) ? index : undefined);
    if (!file) return respond(res, '404 Not Found', headers, 'text/plain; charset=utf-8', 'not found');
    serveFile(res, req, file, headers);
  });

  app.any('/*', (res) => respond(res, '405 Method Not Allowed', headers, 'text/plain; charset=utf-8', 'method not allowed', [['Allow', 'GET']]));
}

function serveFile(res: HttpResponse, req: HttpRequest, file: StaticFile, security: Headers): void {
  const encoding = chooseEncoding(file, req.getHeader('accept-encoding'));
  const body = encoding === 'identity' ? file.identity : file[encoding]!;
  res.cork(() => {
    res.writeHeader('Content-Type', file.contentType).writeHeader('Cache-Control', file.cacheControl).writeHeader('Vary', 'Accept-Encoding');
    if (encoding !== 'identity') res.writeHeader('Content-Encoding', encoding);
    for (const [name, value] of security) res.writeHeader(name, value);
    res.end(body);
  });
}

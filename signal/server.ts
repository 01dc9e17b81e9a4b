// The uWS app: static client, health, readiness, metrics, client settings and the signalling
// WebSocket. A thin shell: uWS callbacks become Session events (signal/ws-route.ts), and the
// effects Session returns become writes, closes and password hashes (signal/effects.ts). In a
// cluster (TREFF_REDIS_URL) a ClusterNode decides at each upgrade and drains (docs/scale.md).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { Config } from './config.js';
import { redirectTarget, respond } from './http.js';
import { registerHttpRoutes } from './http-routes.js';
import { createLogger, type Logger } from './log.js';
import { Counters } from './metrics.js';
import { CloseCode, type IceServer, type ParticipantId } from './protocol.js';
import { Rooms } from './rooms.js';
import { Seats } from './seats.js';
import { Session, type ConnectionRef } from './session.js';
import { openMeetingStore } from './meeting-store.js';
import { loadStaticFiles, securityHeaders } from './static.js';
import { checkCertificate, type CertificateInfo } from './tls.js';
import { loadNativeUws } from './uws.js';
import { registerWsRoute, type SocketData } from './ws-route.js';
import { effectRunner } from './effects.js';
import { ClusterNode } from './cluster/node.js';

export interface RunningServer {
  port: number;
  rooms: Rooms;
  counters: Counters;
  /** Resume tokens and seats held for dropped connections (tests check that none are left behind). */
  readonly seatCount: number;
  /** The certificate being served, when serving HTTPS. */
  readonly certificate: CertificateInfo | undefined;
  /**
   * Re-reads the certificate and key files and serves new connections with them; open
   * connections keep theirs. Throws (and keeps serving the old certificate) if the files are bad.
   */
  reloadCertificate(): Promise<CertificateInfo>;
  /** The plain-HTTP redirect listener's port, when there is one. */
  redirectPort: number | undefined;
  /** Stops accepting, tells every client the server is going away, resolves when all sockets are closed. */
  close(timeoutMs?: number, code?: CloseCode): Promise<void>;
  /**
   * In a cluster: fails /readyz, waits TREFF_DRAIN_DELAY for the load balancer to notice, gives
   * the meetings' leases back and closes every socket with 4010 so its browsers resume on another
   * node. Without a cluster, the same as close().
   */
  drain(timeoutMs?: number): Promise<void>;
}

/** Moved to protocol.ts (the client needs them too); kept here for existing imports. */
export { CloseCode } from './protocol.js';
export { hostnameOf } from './ws-route.js';

export interface ServerOptions {
  config: Config;
  /** ICE servers (with fresh TURN credentials) for a participant entering a call; `address` is the client's. */
  iceServersFor?: (id: ParticipantId, requestHost: string, address: string) => IceServer[];
  logger?: Logger;
  /** For /readyz beyond "listening": e.g. whether the internal relay runs. */
  readiness?: () => { ready: boolean; reason?: string };
  /** For /metrics: the relay's state. */
  relayStatus?: () => { up: boolean; restarts: number };
}

export async function startServer({ config, iceServersFor = () => [], logger = createLogger({ level: config.logLevel }), readiness, relayStatus }: ServerOptions): Promise<RunningServer> {
  const uws = loadNativeUws();
  const counters = new Counters();
  let certificate = config.tls ? checkCertificate(config.tls) : undefined;
  const headers = securityHeaders(config.tls);
  // In a cluster the meeting records live in Redis (signal/cluster/cluster-store.ts).
  const cluster = config.cluster && new ClusterNode(config.cluster, logger, counters, (room) => rooms.moderatorOf(room) !== undefined);
  const rooms: Rooms = new Rooms({
    capacity: config.roomCapacity,
    audioOnlyCapacity: config.audioOnlyCapacity,
    uplinkBudgetKbps: config.uplinkBudgetKbps,
    // Random: only its hash is kept (and stored), so a key stops working when the role moves on.
    newKey: () => randomBytes(33).toString('base64url'),
    store: cluster?.store ?? openMeetingStore(config.dataDir, logger),
  });
  const seats = new Seats(config.seatGraceSeconds * 1000);
  /** Open sockets by connection: only these are ever written to (a closed uWS socket must never be touched). */
  const live = new Map<ConnectionRef, WebSocket<SocketData>>();
  let nextRef = 1;
  const session = new Session({
    rooms,
    seats,
    counters,
    logger,
    limits: config.limits,
    iceServersFor,
    backlog: (ref) => live.get(ref)?.getBufferedAmount() ?? 0,
  });
  const files = loadStaticFiles(config.staticDir);
  const index = files.get('/index.html');
  if (!index) throw new Error(`No index.html in ${config.staticDir}: run "npm run build" first`);
  const indexFile = index;

  const run = effectRunner({ session: () => session, live, counters, logger, settled: () => cluster?.store.settled() });

  // Seats whose grace period ran out, rebuild windows ending: time-bound state of the session and rooms.
  const ticker = setInterval(() => run(undefined, 'tick', () => session.tick(Date.now())), 250).unref();
  const pruner = setInterval(() => session.prune(Date.now()), 60_000).unref();

  // A new certificate means a new SSLApp (uWS reads certificates only when an app is made), so
  // the routes are registered once per app; all apps share the sockets, rooms and counters.
  let generation = 0;
  const apps = new Map<number, { app: TemplatedApp; open: number }>();
  const createApp = (): TemplatedApp => {
    const app = config.tls ? uws.SSLApp({ cert_file_name: config.tls.certFile, key_file_name: config.tls.keyFile }) : uws.App();
    apps.set(++generation, { app, open: 0 });
    registerRoutes(app, generation);
    return app;
  };
  // Drops our reference to an old app once it has no sockets left, so reloads do not pile up apps.
  const release = (gen: number) => {
    const entry = apps.get(gen);
    if (entry && entry.open === 0 && gen !== generation) apps.delete(gen);
  };

  function registerRoutes(app: TemplatedApp, appGeneration: number): void {
    registerWsRoute(app, appGeneration, {
      config,
      headers,
      counters,
      logger,
      session,
      live,
      newRef: () => nextRef++,
      run,
      cluster,
      opened: (gen) => void (apps.get(gen)!.open += 1),
      closed: (gen) => {
        apps.get(gen)!.open -= 1;
        release(gen);
        if (closing && live.size === 0) closing.resolve();
      },
    });

    registerHttpRoutes(app, {
      config,
      logger,
      headers,
      files,
      index: indexFile,
      counters,
      readiness: () => {
        if (cluster?.status().draining) return { ready: false, reason: 'draining' };
        if (closing || !listenSocket) return { ready: false, reason: 'not listening' };
        const own = readiness?.() ?? { ready: true };
        // Redis away does not stop a node (its meetings go on, HAProxy's hash keeps routing): it says so.
        return own.ready && cluster && !cluster.status().redisUp ? { ready: true, reason: 'Redis unreachable, meeting leases are best effort' } : own;
      },
      gauges: () => ({
        connections: session.connectionCount,
        rooms: rooms.roomCount,
        participants: rooms.participantCount,
        relay: relayStatus?.(),
        tlsExpiry: certificate ? Math.floor(certificate.validTo.getTime() / 1000) : undefined,
        cluster: cluster?.status(),
      }),
    });
  }

  let closing: { resolve: () => void } | undefined;
  let listenSocket: us_listen_socket | undefined;
  const listen = (app: TemplatedApp, port: number) => new Promise<us_listen_socket | false>((resolve) => app.listen(config.host, port, resolve));

  // Measured with this uWS build: listen sockets share a port (SO_REUSEPORT) only if it was
  // chosen explicitly; one bound to port 0 cannot be shared. A certificate reload overlaps the
  // old and the new listener on the port, so with TLS a free port is picked up front.
  const port = config.tls && config.port === 0 ? await freePort(config.host) : config.port;
  const first = await listen(createApp(), port);
  if (!first) throw new Error(`Cannot listen on ${config.host}:${port} (in use, or not permitted)`);
  listenSocket = first;
  const boundPort = uws.us_socket_local_port(first);
  logger.info('signalling server listening', { host: config.host, port: boundPort, tls: Boolean(config.tls) });
  if (certificate) logger.info('serving HTTPS', { subject: certificate.subject, fingerprint256: certificate.fingerprint256, validTo: certificate.validTo.toISOString() });

  let redirectSocket: us_listen_socket | undefined;
  if (config.tls?.redirectPort !== undefined) {
    const plainHeaders = securityHeaders(undefined);
    const redirect = uws.App().any('/*', (res, req) => {
      const target = redirectTarget(req.getHeader('host'), req.getUrl(), req.getQuery() ?? '', boundPort, config.publicHost);
      if (!target) return respond(res, '400 Bad Request', plainHeaders, 'text/plain; charset=utf-8', 'bad Host header');
      respond(res, '308 Permanent Redirect', plainHeaders, 'text/plain; charset=utf-8', `see ${target}`, [['Location', target]]);
    });
    const socket = await listen(redirect, config.tls.redirectPort);
    if (!socket) {
      uws.us_listen_socket_close(first);
      throw new Error(`Cannot listen on ${config.host}:${config.tls.redirectPort} for the HTTPS redirect (in use, or not permitted)`);
    }
    redirectSocket = socket;
    logger.info('redirecting plain HTTP to HTTPS', { port: uws.us_socket_local_port(socket) });
  }

  let reloading = Promise.resolve<unknown>(undefined);
  const reloadCertificate = async (): Promise<CertificateInfo> => {
    const tls = config.tls;
    if (!tls) throw new Error('not serving HTTPS: there is no certificate to reload');
    if (closing || !listenSocket) throw new Error('shutting down');
    let info: CertificateInfo;
    try {
      info = checkCertificate(tls);
      const next = await listen(createApp(), boundPort);
      if (!next) throw new Error(`cannot listen on port ${boundPort} a second time for the new certificate`);
      // Both listen now; closing the old one leaves its open connections running.
      uws.us_listen_socket_close(listenSocket);
      listenSocket = next;
      for (const gen of [...apps.keys()]) release(gen);
    } catch (error) {
      counters.inc('tlsReloads', 'failed');
      logger.error('certificate reload failed; still serving the previous certificate', { reason: error instanceof Error ? error.message : String(error) });
      throw error;
    }
    certificate = info;
    counters.inc('tlsReloads', 'ok');
    logger.info('certificate reloaded', { fingerprint256: info.fingerprint256, validTo: info.validTo.toISOString() });
    return info;
  };

  const running: RunningServer = {
    port: boundPort,
    rooms,
    counters,
    get seatCount() {
      return seats.size;
    },
    get certificate() {
      return certificate;
    },
    reloadCertificate() {
      // One reload at a time: two overlapping ones would each close the other's listener.
      const result = reloading.then(reloadCertificate, reloadCertificate);
      reloading = result.catch(() => undefined);
      return result;
    },
    redirectPort: redirectSocket ? uws.us_socket_local_port(redirectSocket) : undefined,
    async drain(timeoutMs = 3000) {
      if (!cluster) return running.close(timeoutMs);
      cluster.startDraining();
      logger.info('draining: /readyz fails, participants move to another node', { delaySeconds: config.cluster!.drainDelaySeconds });
      await new Promise((resolve) => setTimeout(resolve, config.cluster!.drainDelaySeconds * 1000));
      await cluster.releaseAll();
      return running.close(timeoutMs, CloseCode.Moved);
    },
    close(timeoutMs = 3000, code: CloseCode = CloseCode.GoingAway) {
      clearInterval(ticker);
      clearInterval(pruner);
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      if (redirectSocket) uws.us_listen_socket_close(redirectSocket);
      redirectSocket = undefined;
      return new Promise<void>((done) => {
        const open = () => [...apps.values()].reduce((sum, app) => sum + app.open, 0);
        const timer = setTimeout(() => {
          for (const ws of live.values()) ws.close();
          done();
        }, timeoutMs);
        closing = {
          resolve: () => {
            if (open() > 0) return;
            clearTimeout(timer);
            done();
          },
        };
        // Moved (4010) sends the browsers straight to another node, resuming with their calls kept.
        run(undefined, 'shutdown', () => session.shutdown().map((effect) => (effect.type === 'close' ? { ...effect, code, reason: code === CloseCode.Moved ? 'moved to another node' : effect.reason } : effect)));
        if (live.size === 0) closing.resolve();
      }).finally(() => cluster?.close());
    },
  };
  return running;
}

/** A port nobody listens on now, found by binding port 0 with Node (which does not share ports). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

// The uWS app: static client, health, readiness, metrics, client settings and the signalling
// WebSocket. A thin shell around Rooms: it turns socket events into room events and room results
// into sends.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { Config } from './config.js';
import { redirectTarget, respond } from './http.js';
import { registerHttpRoutes } from './http-routes.js';
import { createLogger, type Logger } from './log.js';
import { Counters } from './metrics.js';
import { clientAddress, isAllowedOrigin } from './origin.js';
import { PROTOCOL_VERSION, ProtocolError, parseClientMessage, type ClientMessage, type ErrorCode, type IceServer, type ParticipantId, type ServerMessage } from './protocol.js';
import { FailedAttempts } from './attempts.js';
import { hashPassword, verifyPassword } from './password.js';
import { admit, newBucket, type TokenBucket } from './rate-limit.js';
import { Rooms, type Outbox } from './rooms.js';
import { Seats } from './seats.js';
import { fileMeetingStore, memoryMeetingStore, type MeetingStore } from './meeting-store.js';
import { loadOrCreateSecret } from '../turn/secret.js';
import { adoptable, idForToken, newResumeToken } from './identity.js';
import { loadStaticFiles, securityHeaders } from './static.js';
import { checkCertificate, type CertificateInfo } from './tls.js';
import { loadNativeUws } from './uws.js';

interface SocketData {
  id: ParticipantId;
  /** The host name the browser used to reach us; the relay is offered under the same name. */
  host: string;
  greeted: boolean;
  bucket: TokenBucket;
  /** The client's IP address, for the per-address connection limit. Never logged. */
  address: string;
  /** Which app (certificate generation) accepted the socket. */
  generation: number;
  /** Closed at open for exceeding the per-address limit: never counted, never in a room. */
  refused: boolean;
  /** Replaced by a newer socket that resumed this participant's seat. */
  superseded?: boolean;
}

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
  close(timeoutMs?: number): Promise<void>;
}

/** Close codes sent with the WebSocket close frame. 1001 is the standard "going away". */
export const CloseCode = {
  GoingAway: 1001,
  VersionMismatch: 4001,
  RateLimited: 4008,
  TooManyConnections: 4029,
} as const;

export interface ServerOptions {
  config: Config;
  /** ICE servers (with fresh TURN credentials) for a participant that just joined. */
  iceServersFor?: (id: ParticipantId, requestHost: string) => IceServer[];
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
  const connectionsFrom = new Map<string, number>();
  const rooms = new Rooms({
    capacity: config.roomCapacity,
    audioOnlyCapacity: config.audioOnlyCapacity,
    uplinkBudgetKbps: config.uplinkBudgetKbps,
    // Random: only its hash is kept (and stored), so a key stops working when the role moves on.
    newKey: () => randomBytes(33).toString('base64url'),
    store: openMeetingStore(config.dataDir, logger),
  });
  // Password guessing: a few tries per address, a few more per meeting, in a ten-minute window.
  const failedByAddress = new FailedAttempts({ maxFailures: 10, windowMs: 10 * 60_000 });
  const failedByRoom = new FailedAttempts({ maxFailures: 30, windowMs: 10 * 60_000 });
  const pruneAttempts = setInterval(() => {
    failedByAddress.prune(Date.now());
    failedByRoom.prune(Date.now());
  }, 60_000).unref();
  const sockets = new Map<ParticipantId, WebSocket<SocketData>>();
  const seats = new Seats(config.seatGraceSeconds * 1000);
  // Seats whose grace period ran out: only now do the others learn that the participant left.
  const releaseSeats = setInterval(() => {
    const now = Date.now();
    for (const id of seats.expired(now)) deliver(rooms.leave(id, now));
  }, 250).unref();
  const files = loadStaticFiles(config.staticDir);
  const index = files.get('/index.html');
  if (!index) throw new Error(`No index.html in ${config.staticDir}: run "npm run build" first`);
  const indexFile = index;

  const send = (to: ParticipantId, message: ServerMessage) => sockets.get(to)?.send(JSON.stringify(message));
  const deliver = (outbox: Outbox) =>
    outbox.forEach(({ to, message }) => {
      if (message.type === 'joined') counters.inc('joins');
      else if (message.type === 'signal') counters.inc('signalsRelayed');
      send(to, message);
    });
  const sendError = (ws: WebSocket<SocketData>, code: ErrorCode, message: string) => {
    counters.inc('refusals', code);
    ws.send(JSON.stringify({ type: 'error', code, message } satisfies ServerMessage));
  };

  function handle(ws: WebSocket<SocketData>, data: SocketData, msg: ClientMessage): void {
    if (!data.greeted && msg.type !== 'hello') throw new ProtocolError('hello-required', 'send hello first');
    switch (msg.type) {
      case 'hello':
        if (msg.version !== PROTOCOL_VERSION) {
          sendError(ws, 'version-mismatch', `this page is out of date (protocol ${msg.version}, server ${PROTOCOL_VERSION}): reload it`);
          ws.end(CloseCode.VersionMismatch, 'version mismatch');
          return;
        }
        // One hello per socket: a second one would change the id of a socket that may be in a room.
        if (data.greeted) throw new ProtocolError('bad-message', 'hello was already said');
        data.greeted = true;
        return welcome(ws, data, msg.resumeToken);
      case 'join':
        return inBackground(ws, data, joinRoom(data, msg));
      case 'signal':
        return deliver(rooms.relay(data.id, msg.to, msg.data));
      case 'leave':
        return deliver(rooms.leave(data.id, Date.now()));
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong' } satisfies ServerMessage));
        return;
      case 'ice-servers':
        // Relay credentials only for members: they are what lets a browser use the relay at all.
        if (rooms.roomOf(data.id) === undefined) throw new ProtocolError('not-in-room', 'join a meeting first');
        ws.send(JSON.stringify({ type: 'ice-servers', iceServers: iceServersFor(data.id, data.host) } satisfies ServerMessage));
        return;
      case 'set-password':
        rooms.requireModerator(data.id);
        if (msg.password === null) return deliver(rooms.setPassword(data.id, null));
        return inBackground(ws, data, hashPassword(msg.password).then((hash) => deliver(rooms.setPassword(data.id, hash))));
      case 'make-moderator':
        return deliver(rooms.makeModerator(data.id, msg.id));
      case 'remove':
        return deliver(rooms.remove(data.id, msg.id, Date.now()));
      case 'mute-all':
        return deliver(rooms.muteAll(data.id));
      case 'lock':
        return deliver(rooms.setLocked(data.id, msg.locked));
      case 'lobby':
        return deliver(rooms.setLobby(data.id, msg.enabled));
      case 'admit':
        return deliver(rooms.admitFromLobby(data.id, msg.id));
      case 'decline':
        return deliver(rooms.decline(data.id, msg.id));
      case 'peer-lost':
        // Both the socket and a peer's media are gone: a crash, not a blip. Only the same meeting counts.
        if (seats.isHeld(msg.id) && rooms.roomOf(msg.id) !== undefined && rooms.roomOf(msg.id) === rooms.roomOf(data.id)) {
          seats.forget(msg.id);
          deliver(rooms.leave(msg.id, Date.now()));
        }
        return;
    }
  }

  /** Greets a socket: with a valid resume token it takes back its participant's seat and id. */
  function welcome(ws: WebSocket<SocketData>, data: SocketData, resumeToken: string | undefined): void {
    const resumedId = resumeToken ? seats.resume(resumeToken, Date.now()) : null;
    if (resumedId && resumedId !== data.id) {
      const previous = sockets.get(resumedId);
      if (previous) {
        // A half-open old connection: the new one wins, quietly.
        previous.getUserData().superseded = true;
        previous.end(CloseCode.GoingAway, 'resumed elsewhere');
      }
      sockets.delete(data.id);
      data.id = resumedId;
      sockets.set(resumedId, ws);
      ws.send(JSON.stringify({ type: 'welcome', you: resumedId, resumeToken: resumeToken!, resumed: true } satisfies ServerMessage));
      return;
    }
    // A token we do not know (we restarted, or the seat expired) still proves its id: take it
    // unless that id is in use; otherwise a fresh token and id.
    const shown = resumeToken && adoptable(resumeToken) && !inUse(idForToken(resumeToken)) ? resumeToken : undefined;
    const token = shown ?? newResumeToken();
    const id = idForToken(token);
    if (sockets.get(data.id) === ws) sockets.delete(data.id);
    data.id = id;
    sockets.set(id, ws);
    seats.issue(id, token);
    ws.send(JSON.stringify({ type: 'welcome', you: id, resumeToken: token, resumed: false } satisfies ServerMessage));
  }

  const inUse = (id: ParticipantId) => sockets.has(id) || seats.has(id) || rooms.roomOf(id) !== undefined;

  /** Checks the password (slow on purpose, so off the event loop) before the room decides. */
  async function joinRoom(data: SocketData, msg: Extract<ClientMessage, { type: 'join' }>): Promise<void> {
    const hash = rooms.passwordHashFor(msg.room, { id: data.id, moderatorKey: msg.moderatorKey, rejoin: msg.rejoin }, Date.now());
    let passwordVerified = false;
    if (hash) {
      if (msg.password === undefined) throw new ProtocolError('password-required', 'this meeting needs a password');
      const now = Date.now();
      const wait = Math.max(failedByAddress.retryAfter(data.address, now), failedByRoom.retryAfter(msg.room, now));
      if (wait > 0) throw new ProtocolError('too-many-attempts', `too many wrong passwords: try again in ${Math.ceil(wait / 1000)} seconds`);
      passwordVerified = await verifyPassword(msg.password, hash);
      if (!passwordVerified) {
        failedByAddress.fail(data.address, Date.now());
        failedByRoom.fail(msg.room, Date.now());
        throw new ProtocolError('wrong-password', 'wrong password');
      }
    }
    if (!sockets.has(data.id)) return; // gone while the password was checked
    const options = { passwordVerified, now: Date.now(), ...(msg.moderatorKey ? { moderatorKey: msg.moderatorKey } : {}), ...(msg.rejoin ? { rejoin: msg.rejoin } : {}), audioOnly: msg.audioOnly === true };
    deliver(rooms.join(data.id, msg.room, msg.name, iceServersFor(data.id, data.host), options));
  }

  /** Runs async work for a message; its protocol errors go back to the sender, if still connected. */
  function inBackground(ws: WebSocket<SocketData>, data: SocketData, work: Promise<void>): void {
    work.catch((error: unknown) => {
      if (!(error instanceof ProtocolError)) return logger.error('message handling failed', { error: String(error) });
      if (sockets.has(data.id)) sendError(ws, error.code, error.message);
    });
  }

  function onMessage(ws: WebSocket<SocketData>, message: ArrayBuffer): void {
    const data = ws.getUserData();
    counters.inc('messagesReceived');
    const verdict = admit(data.bucket, config.limits.rate, config.limits.maxRefused, Date.now());
    if (verdict === 'cut-off') {
      counters.inc('refusals', 'flood-cut-off');
      return ws.end(CloseCode.RateLimited, 'too many messages');
    }
    if (verdict === 'refuse') {
      if (data.bucket.refused === 1) sendError(ws, 'rate-limited', 'too many messages: slow down');
      return;
    }
    try {
      // Decoding copies the bytes: uWS reuses the buffer once this handler returns.
      handle(ws, data, parseClientMessage(Buffer.from(message).toString('utf8')));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      logger.debug('message refused', { participant: data.id, code: error.code });
      sendError(ws, error.code, error.message);
    }
  }

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
    app.ws<SocketData>('/ws', {
      maxPayloadLength: config.maxMessageBytes,
      idleTimeout: config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      // A client that does not read cannot make the server hold more than this for it.
      maxBackpressure: 1024 * 1024,
      closeOnBackpressureLimit: 1,
      upgrade(res, req, context) {
        // Everything is read out of req here: uWS reuses it once this handler returns.
        const origin = req.getHeader('origin');
        const hostHeader = req.getHeader('host');
        if (!isAllowedOrigin(origin, hostHeader, config.allowedOrigins, config.publicHost)) {
          counters.inc('refusals', 'origin');
          logger.info('refused a WebSocket opened by a page of another origin', { origin });
          return respond(res, '403 Forbidden', headers, 'text/plain; charset=utf-8', 'pages of this origin may not connect to this Treff server');
        }
        res.upgrade<SocketData>(
          {
            id: randomBytes(9).toString('base64url'),
            host: hostnameOf(hostHeader),
            greeted: false,
            bucket: newBucket(config.limits.rate, Date.now()),
            address: clientAddress(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for'), config.trustProxy),
            generation: appGeneration,
            refused: false,
          },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open(ws) {
        const data = ws.getUserData();
        const fromAddress = connectionsFrom.get(data.address) ?? 0;
        if (fromAddress >= config.limits.connectionsPerAddress) {
          data.refused = true;
          counters.inc('refusals', 'too-many-connections');
          logger.warn('refused a connection: too many from one address', { limit: config.limits.connectionsPerAddress });
          return ws.end(CloseCode.TooManyConnections, 'too many connections from your address');
        }
        connectionsFrom.set(data.address, fromAddress + 1);
        apps.get(data.generation)!.open += 1;
        counters.inc('connectionsOpened');
        sockets.set(data.id, ws);
      },
      message: onMessage,
      close(ws) {
        const data = ws.getUserData();
        if (data.refused) return;
        const fromAddress = (connectionsFrom.get(data.address) ?? 1) - 1;
        if (fromAddress > 0) connectionsFrom.set(data.address, fromAddress);
        else connectionsFrom.delete(data.address);
        apps.get(data.generation)!.open -= 1;
        release(data.generation);
        if (sockets.get(data.id) === ws) sockets.delete(data.id);
        if (data.superseded) return;
        // On shutdown nobody is told that others left: their calls go on peer to peer.
        if (closing) {
          if (sockets.size === 0) closing.resolve();
        } else if (rooms.roomOf(data.id)) {
          // A dropped connection keeps its seat for a while: the calls go on, and it may come back.
          seats.hold(data.id, Date.now());
        } else {
          seats.forget(data.id);
          deliver(rooms.leave(data.id, Date.now()));
        }
      },
    });

    registerHttpRoutes(app, {
      config,
      headers,
      files,
      index: indexFile,
      counters,
      readiness: () => (closing || !listenSocket ? { ready: false, reason: 'not listening' } : (readiness?.() ?? { ready: true })),
      gauges: () => ({
        connections: sockets.size,
        rooms: rooms.roomCount,
        participants: rooms.participantCount,
        relay: relayStatus?.(),
        tlsExpiry: certificate ? Math.floor(certificate.validTo.getTime() / 1000) : undefined,
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

  return {
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
    close(timeoutMs = 3000) {
      clearInterval(pruneAttempts);
      clearInterval(releaseSeats);
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      if (redirectSocket) uws.us_listen_socket_close(redirectSocket);
      redirectSocket = undefined;
      return new Promise<void>((done) => {
        const timer = setTimeout(() => {
          for (const ws of sockets.values()) ws.close();
          done();
        }, timeoutMs);
        closing = {
          resolve: () => {
            clearTimeout(timer);
            done();
          },
        };
        if (sockets.size === 0) return closing.resolve();
        for (const ws of [...sockets.values()]) ws.end(CloseCode.GoingAway, 'server shutting down');
      });
    },
  };
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

/** "meet.example.org:8080" → "meet.example.org"; "[2001:db8::1]:443" → "2001:db8::1". */
export function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(hostHeader);
  if (bracketed) return bracketed[1]!;
  return hostHeader.replace(/:\d+$/, '');
}

/**
 * Each meeting's password hash, lock, lobby, moderator and members, kept in the data directory so
 * a restart brings them back before anyone gets in. Without a usable data directory, in memory
 * only: then a restarted server cannot tell a meeting's members and moderator from strangers.
 */
function openMeetingStore(dataDir: string, logger: Logger): MeetingStore {
  try {
    const secret = loadOrCreateSecret(dataDir, { file: 'meeting-secret', what: 'the meeting store secret' });
    return fileMeetingStore({ dir: join(dataDir, 'meetings'), secret, onError: (message) => logger.error(message) });
  } catch (error) {
    logger.error(`protected meetings will not survive a restart: ${(error as Error).message}`);
    return memoryMeetingStore();
  }
}

// The signalling WebSocket route: uWS callbacks become Session events. In a cluster the meeting
// comes in the URL (/ws?room=…), so HAProxy routes by it and the node decides at the upgrade,
// before the socket opens, whether it holds the meeting (signal/cluster/node.ts).

import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from 'uWebSockets.js';
import type { ClusterNode } from './cluster/node.js';
import type { Config } from './config.js';
import { respond, type Headers } from './http.js';
import type { Logger } from './log.js';
import type { Counters } from './metrics.js';
import { normalizeRoomName } from './names.js';
import { clientAddress, isAllowedOrigin } from './origin.js';
import { CloseCode } from './protocol.js';
import type { ConnectionRef, Effect, Session } from './session.js';

export interface SocketData {
  ref: ConnectionRef;
  host: string;
  /** The client's IP address, for the per-address limits. Never logged. */
  address: string;
  /** Which app (certificate generation) accepted the socket. */
  generation: number;
  /** uWS refused a write (over maxBackpressure) and is closing the socket: its seat is protected. */
  droppedForBackpressure: boolean;
  /** In a cluster: the meeting this socket was opened (and routed) for; a join for another is refused. */
  room: string | undefined;
  /** Joins for another meeting than `room` so far: a client that keeps trying is cut off. */
  strayJoins: number;
}

export interface WsRouteContext {
  config: Config;
  headers: Headers;
  counters: Counters;
  logger: Logger;
  session: Session;
  /** Open sockets by connection: only these are ever written to. */
  live: Map<ConnectionRef, WebSocket<SocketData>>;
  newRef(): ConnectionRef;
  run(origin: ConnectionRef | undefined, stage: string, event: () => Effect[]): void;
  opened(generation: number): void;
  closed(generation: number): void;
  cluster: ClusterNode | undefined;
}

const TEXT = 'text/plain; charset=utf-8';
const MAX_STRAY_JOINS = 3;

export function registerWsRoute(app: TemplatedApp, generation: number, context: WsRouteContext): void {
  const { config, counters, logger, session, live, run, cluster, headers } = context;
  app.ws<SocketData>('/ws', {
    maxPayloadLength: config.maxMessageBytes,
    idleTimeout: config.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // A client that does not read cannot make the server hold more than this for it.
    maxBackpressure: 1024 * 1024,
    closeOnBackpressureLimit: 1,
    upgrade(res, req, socketContext) {
      // Everything is read out of req here: uWS reuses it once this handler returns.
      const origin = req.getHeader('origin');
      const hostHeader = req.getHeader('host');
      if (!isAllowedOrigin(origin, hostHeader, config.allowedOrigins, config.publicHost)) {
        counters.inc('refusals', 'origin');
        logger.info('refused a WebSocket opened by a page of another origin', { origin });
        return respond(res, '403 Forbidden', headers, TEXT, 'pages of this origin may not connect to this Treff server');
      }
      const handshake = readHandshake(res, req, config.trustProxy);
      const data = (room: string | undefined): SocketData => ({ ref: context.newRef(), host: hostnameOf(hostHeader), address: handshake.address, generation, droppedForBackpressure: false, room, strayJoins: 0 });
      if (!cluster) return upgrade(res, handshake, data(undefined), socketContext);
      const room = normalizeRoomName(req.getQuery('room') ?? '');
      if (!room.ok) return respond(res, '400 Bad Request', headers, TEXT, 'the WebSocket URL names no meeting: /ws?room=<meeting>');
      let aborted = false;
      res.onAborted(() => (aborted = true));
      // Whatever happens here must not escape as an unhandled rejection (it would end the process):
      // uWS throws when a response is touched after the client went away.
      const answer = (write: () => void) => {
        if (aborted) return;
        try {
          res.cork(write);
        } catch (error) {
          counters.inc('handlerFailures', 'upgrade');
          logger.warn('could not answer a WebSocket upgrade', { error: String(error) });
        }
      };
      void cluster.admit(room.value, Date.now()).then(
        (admission) => {
          counters.inc('clusterUpgrades', admission.kind === 'owned' && admission.takenOver ? 'taken-over' : admission.kind);
          // 503 makes HAProxy retry on another node (retry-on 503, option redispatch; docs/haproxy.cfg).
          if (admission.kind === 'moved' || admission.kind === 'draining') {
            return answer(() => respond(res, '503 Service Unavailable', headers, TEXT, admission.kind === 'moved' ? 'this meeting is held by another node' : 'this node is draining', [['Retry-After', '0']]));
          }
          answer(() => upgrade(res, handshake, data(room.value), socketContext));
        },
        () => answer(() => respond(res, '500 Internal Server Error', headers, TEXT, 'could not admit the connection')),
      );
    },
    open(ws) {
      const data = ws.getUserData();
      live.set(data.ref, ws);
      context.opened(data.generation);
      run(data.ref, 'open', () => session.opened(data.ref, { address: data.address, host: data.host }, Date.now()));
    },
    // Decoding copies the bytes: uWS reuses the buffer once this handler returns.
    message: (ws, message) => {
      const data = ws.getUserData();
      const text = Buffer.from(message).toString('utf8');
      if (data.room !== undefined && joinsAnotherMeeting(text, data.room)) return refuseStrayJoin(ws, data, counters);
      run(data.ref, 'message', () => session.message(data.ref, text, Date.now()));
    },
    close(ws) {
      const data = ws.getUserData();
      live.delete(data.ref);
      context.closed(data.generation);
      run(undefined, 'close', () => session.closed(data.ref, data.droppedForBackpressure ? 'backpressure' : 'client', Date.now()));
    },
  });
}

interface Handshake {
  key: string;
  protocol: string;
  extensions: string;
  address: string;
}

function readHandshake(res: HttpResponse, req: HttpRequest, trustProxy: boolean): Handshake {
  return {
    key: req.getHeader('sec-websocket-key'),
    protocol: req.getHeader('sec-websocket-protocol'),
    extensions: req.getHeader('sec-websocket-extensions'),
    address: clientAddress(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for'), trustProxy),
  };
}

function upgrade(res: HttpResponse, handshake: Handshake, data: SocketData, context: us_socket_context_t): void {
  res.upgrade<SocketData>(data, handshake.key, handshake.protocol, handshake.extensions, context);
}

/**
 * A join for a meeting other than the one the socket was routed for would put the meeting on a
 * node HAProxy does not send its members to. Parsed in full (a JSON escape can spell "join").
 */
export function joinsAnotherMeeting(text: string, room: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false; // the session answers bad-message
  }
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== 'join') return false;
  const asked = (value as { room?: unknown }).room;
  if (typeof asked !== 'string') return false;
  const normalized = normalizeRoomName(asked);
  return normalized.ok && normalized.value !== room;
}

function refuseStrayJoin(ws: WebSocket<SocketData>, data: SocketData, counters: Counters): void {
  counters.inc('refusals', 'invalid-room-name');
  data.strayJoins += 1;
  ws.send(JSON.stringify({ type: 'error', code: 'invalid-room-name', message: 'this connection was opened for another meeting: connect with /ws?room=<that meeting>' }));
  if (data.strayJoins >= MAX_STRAY_JOINS) ws.end(CloseCode.RateLimited, 'joins for other meetings');
}

/** "meet.example.org:8080" → "meet.example.org"; "[2001:db8::1]:443" → "2001:db8::1". */
export function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(hostHeader);
  if (bracketed) return bracketed[1]!;
  return hostHeader.replace(/:\d+$/, '');
}

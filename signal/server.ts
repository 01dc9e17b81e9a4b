// The uWS app: static client, /healthz and the signalling WebSocket. A thin shell around Rooms:
// it turns socket events into room events and room results into sends.

import { randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { Config } from './config.js';
import { PROTOCOL_VERSION, ProtocolError, parseClientMessage, type ClientMessage, type ErrorCode, type IceServer, type ParticipantId, type ServerMessage } from './protocol.js';
import { admit, newBucket, type RateLimit, type TokenBucket } from './rate-limit.js';
import { Rooms, type Outbox } from './rooms.js';
import { SECURITY_HEADERS, chooseEncoding, isAppPath, loadStaticFiles, type StaticFile } from './static.js';
import { loadNativeUws } from './uws.js';

interface SocketData {
  id: ParticipantId;
  /** The host name the browser used to reach us; the relay is offered under the same name. */
  host: string;
  greeted: boolean;
  bucket: TokenBucket;
}

export interface RunningServer {
  port: number;
  rooms: Rooms;
  /** Stops accepting, tells every client the server is going away, resolves when all sockets are closed. */
  close(timeoutMs?: number): Promise<void>;
}

/** Close codes sent with the WebSocket close frame. 1001 is the standard "going away". */
export const CloseCode = {
  GoingAway: 1001,
  VersionMismatch: 4001,
  RateLimited: 4008,
} as const;

const RATE_LIMIT: RateLimit = { burst: 400, perSecond: 100 };
/** A client that keeps sending after being told to slow down is cut off. */
const MAX_REFUSED = 200;

export interface ServerOptions {
  config: Config;
  /** ICE servers (with fresh TURN credentials) for a participant that just joined. */
  iceServersFor?: (id: ParticipantId, requestHost: string) => IceServer[];
  log?: (line: string) => void;
}

export function startServer({ config, iceServersFor = () => [], log = console.log }: ServerOptions): Promise<RunningServer> {
  const uws = loadNativeUws();
  const rooms = new Rooms({ capacity: config.roomCapacity });
  const sockets = new Map<ParticipantId, WebSocket<SocketData>>();
  const files = loadStaticFiles(config.staticDir);
  const index = files.get('/index.html');
  if (!index) throw new Error(`No index.html in ${config.staticDir}: run "npm run build" first`);

  const send = (to: ParticipantId, message: ServerMessage) => sockets.get(to)?.send(JSON.stringify(message));
  const deliver = (outbox: Outbox) => outbox.forEach(({ to, message }) => send(to, message));
  const sendError = (ws: WebSocket<SocketData>, code: ErrorCode, message: string) =>
    ws.send(JSON.stringify({ type: 'error', code, message } satisfies ServerMessage));

  function handle(ws: WebSocket<SocketData>, data: SocketData, msg: ClientMessage): void {
    if (!data.greeted && msg.type !== 'hello') throw new ProtocolError('hello-required', 'send hello first');
    switch (msg.type) {
      case 'hello':
        if (msg.version !== PROTOCOL_VERSION) {
          sendError(ws, 'version-mismatch', `this page is out of date (protocol ${msg.version}, server ${PROTOCOL_VERSION}): reload it`);
          ws.end(CloseCode.VersionMismatch, 'version mismatch');
          return;
        }
        data.greeted = true;
        ws.send(JSON.stringify({ type: 'welcome', you: data.id } satisfies ServerMessage));
        return;
      case 'join':
        return deliver(rooms.join(data.id, msg.room, msg.name, iceServersFor(data.id, data.host)));
      case 'signal':
        return deliver(rooms.relay(data.id, msg.to, msg.data));
      case 'leave':
        return deliver(rooms.leave(data.id));
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong' } satisfies ServerMessage));
        return;
    }
  }

  function onMessage(ws: WebSocket<SocketData>, message: ArrayBuffer): void {
    const data = ws.getUserData();
    const verdict = admit(data.bucket, RATE_LIMIT, MAX_REFUSED, Date.now());
    if (verdict === 'cut-off') return ws.end(CloseCode.RateLimited, 'too many messages');
    if (verdict === 'refuse') {
      if (data.bucket.refused === 1) sendError(ws, 'rate-limited', 'too many messages: slow down');
      return;
    }
    try {
      // Decoding copies the bytes: uWS reuses the buffer once this handler returns.
      handle(ws, data, parseClientMessage(Buffer.from(message).toString('utf8')));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      sendError(ws, error.code, error.message);
    }
  }

  const app: TemplatedApp = uws.App();
  app.ws<SocketData>('/ws', {
    maxPayloadLength: config.maxMessageBytes,
    idleTimeout: config.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: 1024 * 1024,
    closeOnBackpressureLimit: 1,
    upgrade(res, req, context) {
      res.upgrade<SocketData>(
        {
          id: randomBytes(9).toString('base64url'),
          host: hostnameOf(req.getHeader('host')),
          greeted: false,
          bucket: newBucket(RATE_LIMIT, Date.now()),
        },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      sockets.set(ws.getUserData().id, ws);
    },
    message: onMessage,
    close(ws) {
      const { id } = ws.getUserData();
      sockets.delete(id);
      // On shutdown nobody is told that others left: their calls go on peer to peer.
      if (closing) {
        if (sockets.size === 0) closing.resolve();
      } else {
        deliver(rooms.leave(id));
      }
    },
  });

  app.get('/healthz', (res) => {
    res.writeHeader('Content-Type', 'text/plain; charset=utf-8').writeHeader('Cache-Control', 'no-store').end('ok');
  });

  app.get('/*', (res, req) => {
    const path = req.getUrl();
    const file = files.get(path) ?? (isAppPath(path) ? index : undefined);
    if (!file) return notFound(res);
    serveFile(res, req, file);
  });

  app.any('/*', (res) => {
    res.writeStatus('405 Method Not Allowed').writeHeader('Allow', 'GET').end();
  });

  let closing: { resolve: () => void } | undefined;

  return new Promise((resolve, reject) => {
    app.listen(config.host, config.port, (listenSocket: us_listen_socket | false) => {
      if (!listenSocket) return reject(new Error(`Cannot listen on ${config.host}:${config.port} (in use, or not permitted)`));
      const port = uws.us_socket_local_port(listenSocket);
      log(`signalling server listening on ${config.host}:${port}`);
      resolve({
        port,
        rooms,
        close(timeoutMs = 3000) {
          uws.us_listen_socket_close(listenSocket);
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
      });
    });
  });
}

function serveFile(res: HttpResponse, req: HttpRequest, file: StaticFile): void {
  const encoding = chooseEncoding(file, req.getHeader('accept-encoding'));
  const body = encoding === 'identity' ? file.identity : file[encoding]!;
  res.cork(() => {
    res.writeHeader('Content-Type', file.contentType).writeHeader('Cache-Control', file.cacheControl).writeHeader('Vary', 'Accept-Encoding');
    if (encoding !== 'identity') res.writeHeader('Content-Encoding', encoding);
    for (const [name, value] of SECURITY_HEADERS) res.writeHeader(name, value);
    res.end(body);
  });
}

/** "meet.example.org:8080" → "meet.example.org"; "[2001:db8::1]:443" → "2001:db8::1". */
export function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(hostHeader);
  if (bracketed) return bracketed[1]!;
  return hostHeader.replace(/:\d+$/, '');
}

function notFound(res: HttpResponse): void {
  res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain; charset=utf-8').end('not found');
}

// Small HTTP pieces of the server: one way to answer (always with the security headers), the
// HTTP→HTTPS redirect target and who may read /metrics. Pure except `respond`.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpResponse } from 'uWebSockets.js';
import { isLoopback } from './origin.js';

export type Headers = ReadonlyArray<readonly [string, string]>;

/** One answer, written by `send`: the same for GET and HEAD except that HEAD gets no body. */
export interface Answer {
  status: string;
  headers: Headers;
  body: string | Buffer;
  /** Close the connection after answering: what follows a refused request cannot be trusted. */
  close?: boolean;
}

/** A plain answer of ours: no caching, the security headers and any extra ones. */
export function plainAnswer(status: string, security: Headers, contentType: string, body: string | Buffer, extra: Headers = []): Answer {
  return { status, headers: [['Content-Type', contentType], ['Cache-Control', 'no-store'], ...security, ...extra], body };
}

export function respond(res: HttpResponse, status: string, security: Headers, contentType: string, body: string | Buffer, extra: Headers = []): void {
  send(res, plainAnswer(status, security, contentType, body, extra));
}

/**
 * Writes an answer. For HEAD, measured with this uWS build (a raw socket, a HEAD and a GET
 * pipelined on one connection): `end(body)` sends the body after the headers, which the client
 * reads as the start of the next response; `end()` announces `Content-Length: 0`;
 * `endWithoutBody(n)` leaves the response open, so the next request on the connection closes it;
 * `endWithoutBody(undefined, true)` aborts the process. `endWithoutBody()` writes no length and no
 * body and keeps the connection usable, so the GET's length is written here as a header.
 */
export function send(res: HttpResponse, answer: Answer, head = false): void {
  if (answer.close) return sendAndClose(res, answer, head);
  res.cork(() => {
    res.writeStatus(answer.status);
    for (const [name, value] of answer.headers) res.writeHeader(name, value);
    if (head) {
      res.writeHeader('Content-Length', String(Buffer.byteLength(answer.body)));
      res.endWithoutBody();
    } else {
      res.end(answer.body);
    }
  });
}

/**
 * A refusal after which nothing more is read from the connection. Measured with this uWS build:
 * `end(body, true)` sends `Connection: close`, but requests already in the read buffer behind the
 * refused one are still parsed and answered, and where they start depends on the very framing we
 * refused. A request that arrives while a response is pending makes uWS close the connection
 * instead, so the answer is given one turn of the event loop later: pipelined bytes behind it
 * close the connection unanswered (onAborted), otherwise the client gets the 400 and the close.
 */
function sendAndClose(res: HttpResponse, answer: Answer, head: boolean): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  setImmediate(() => {
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(answer.status);
      for (const [name, value] of answer.headers) res.writeHeader(name, value);
      // HEAD gets no body (Content-Length: 0 here); the connection ends either way.
      res.end(head ? '' : answer.body, true);
    });
  });
}

/**
 * Why a request's framing is refused (400, then the connection is closed), or undefined.
 * Treff's routes take no request body, so anything that makes a body's length ambiguous is
 * refused rather than interpreted: a proxy in front may read the same bytes as a different
 * sequence of requests than we do (request smuggling). Header names arrive lower-cased
 * (uWS `req.forEach`, which lists repeated headers one by one).
 */
export function framingRefusal(method: string, headers: Headers): string | undefined {
  const named = (wanted: string) => headers.filter(([name]) => name === wanted).map(([, value]) => value);
  if (named('transfer-encoding').length > 0) return 'Transfer-Encoding is not accepted';
  const lengths = named('content-length');
  if (lengths.length > 1) return 'more than one Content-Length';
  const [length] = lengths;
  if (length !== undefined && !/^\d{1,15}$/.test(length)) return 'malformed Content-Length';
  if (length !== undefined && Number(length) !== 0 && ['get', 'head'].includes(method.toLowerCase())) return `a ${method.toUpperCase()} request carries no body`;
  // RFC 9112, 3.2: a request with more than one Host is answered 400.
  if (named('host').length > 1) return 'more than one Host';
  return undefined;
}

/** Where a plain-HTTP request is sent: the same path on HTTPS. Undefined for a Host header that is not a plain host[:port]. */
export function redirectTarget(hostHeader: string, path: string, query: string, httpsPort: number, publicHost?: string): string | undefined {
  const host = publicHost ?? hostOnly(hostHeader);
  if (!host) return undefined;
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  return `https://${host}${port}${path}${query ? `?${query}` : ''}`;
}

function hostOnly(hostHeader: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(hostHeader);
  return match?.[1]?.toLowerCase();
}

export type MetricsAccess = 'allowed' | 'unauthorized' | 'forbidden';

/**
 * With a token, only `Authorization: Bearer <token>` gets in. Without one, only a client on this
 * machine, and not one relayed by a local reverse proxy: a proxy on loopback would otherwise
 * hand the metrics to the whole internet.
 */
export function metricsAccess(request: { token: string | undefined; authorization: string; remoteAddress: string; proxied: boolean }): MetricsAccess {
  if (request.token !== undefined) return sameSecret(request.authorization, `Bearer ${request.token}`) ? 'allowed' : 'unauthorized';
  return isLoopback(request.remoteAddress) && !request.proxied ? 'allowed' : 'forbidden';
}

function sameSecret(given: string, expected: string): boolean {
  // Hashing first makes the comparison constant-time whatever the lengths.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

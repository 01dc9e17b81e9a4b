// Small HTTP pieces of the server: one way to answer (always with the security headers), the
// HTTP→HTTPS redirect target and who may read /metrics. Pure except `respond`.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpResponse } from 'uWebSockets.js';
import { isLoopback } from './origin.js';

export type Headers = ReadonlyArray<[string, string]>;

export function respond(res: HttpResponse, status: string, security: Headers, contentType: string, body: string | Buffer, extra: Headers = []): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', contentType).writeHeader('Cache-Control', 'no-store');
    for (const [name, value] of [...security, ...extra]) res.writeHeader(name, value);
    res.end(body);
  });
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

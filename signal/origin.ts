// Who is asking: the client's address (for the per-address limit and the loopback-only metrics)
// and whether a page's origin may open the signalling WebSocket.

import { isIP, isIPv4 } from 'node:net';

/**
 * uWS reports IPv6 fully expanded ("0000:…:ffff:7f00:0001") and IPv4 clients of a dual-stack
 * socket as mapped addresses; this gives one spelling per address: "127.0.0.1", "::1".
 */
export function normalizeAddress(text: string): string {
  const trimmed = text.trim().replace(/^\[|\]$/g, '');
  if (isIPv4(trimmed)) return trimmed;
  if (isIP(trimmed) !== 6) return trimmed;
  const compressed = new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped) {
    const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  return compressed;
}

export function isLoopback(address: string): boolean {
  const normalized = normalizeAddress(address);
  return normalized === '::1' || (isIPv4(normalized) && normalized.startsWith('127.'));
}

/**
 * The address a limit applies to. Behind a trusted proxy that is the last X-Forwarded-For entry
 * (the one the proxy itself appended); earlier entries are whatever the client claimed.
 */
export function clientAddress(socketAddress: string, forwardedFor: string, trustProxy: boolean): string {
  if (trustProxy && forwardedFor) {
    const last = forwardedFor.split(',').pop()!.trim();
    if (isIP(last.replace(/^\[|\]$/g, ''))) return normalizeAddress(last);
  }
  return normalizeAddress(socketAddress);
}

/**
 * Which Host headers are served. DNS rebinding: a page on evil.example whose name the attacker
 * then points at the intranet address of a Treff server is, for the browser, still same-origin
 * with evil.example, and the browser sends `Host: evil.example` and `Origin: http://evil.example`.
 * Only the Host tells the server it is being reached under a name that is not its own, so with
 * `publicHost` set only that name (any port), the hosts of the configured allowed origins and
 * loopback are served. Loopback stays: a rebinding attack needs a DNS name, and the local
 * metrics scrape (http://127.0.0.1:8080/metrics) and the tests use it.
 * Without publicHost (development, tests) every Host is served, as before: such a server on a
 * network address is open to DNS rebinding, and the server warns at start (hostCheckWarning).
 */
export function isServedHost(hostHeader: string, policy: { publicHost: string | undefined; allowedOrigins: readonly string[] }): boolean {
  if (policy.publicHost === undefined) return true;
  const host = hostOfHeader(hostHeader);
  if (host === undefined) return false;
  if (host === policy.publicHost || host === 'localhost' || isLoopback(host)) return true;
  return policy.allowedOrigins.some((origin) => new URL(origin).hostname.replace(/^\[|\]$/g, '') === host);
}

/** "Meet.Example.org:8443" → "meet.example.org", "[::1]:80" → "::1"; undefined for anything else. */
export function hostOfHeader(hostHeader: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?$/i.exec(hostHeader);
  if (!match) return undefined;
  return (match[1] ?? match[2])!.toLowerCase();
}

/** Said at start when the server answers any Host on a network address. */
export function hostCheckWarning(listenHost: string, publicHost: string | undefined): string | undefined {
  if (publicHost !== undefined || listenHost === 'localhost' || isLoopback(listenHost)) return undefined;
  return 'publicHost is not set: every Host header is served and any page whose origin equals its Host may open the WebSocket, so a web page can reach this server by DNS rebinding; set publicHost (TREFF_PUBLIC_HOST) to the name users type';
}

/**
 * Browsers always send Origin with a WebSocket upgrade, so a page on another site cannot open a
 * socket in its visitor's name unless listed. Same origin means the Origin's host and port are
 * the Host header's (compared without the default port of the Origin's scheme). Clients that are
 * not browsers send no Origin; they could send any, so refusing them would protect nothing.
 * With publicHost set the Host must be served first (isServedHost): otherwise a rebinding page
 * passes "Origin equals Host" with the attacker's own name in both.
 */
export function isAllowedOrigin(origin: string, hostHeader: string, allowedOrigins: readonly string[], publicHost?: string): boolean {
  if (!isServedHost(hostHeader, { publicHost, allowedOrigins })) return false;
  if (origin === '') return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (allowedOrigins.includes(url.origin)) return true;
  if (publicHost && url.protocol === 'https:' && url.host === publicHost) return true;
  return url.host === withoutDefaultPort(hostHeader.toLowerCase(), url.protocol);
}

function withoutDefaultPort(host: string, protocol: string): string {
  const defaultPort = protocol === 'https:' ? ':443' : ':80';
  return host.endsWith(defaultPort) ? host.slice(0, -defaultPort.length) : host;
}

// TEST-ONLY: a malicious signalling server. It sits between the browsers and the real Treff
// server, passes the app through, and rewrites the DTLS fingerprint in every SDP it relays,
// as a man in the middle would. Never shipped: it lives in test/helpers.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface RewritingProxy {
  url: string;
  /** How many SDPs had their fingerprint replaced. */
  rewritten: () => number;
  close(): Promise<void>;
}

/** Replaces the value of every a=fingerprint line with a different, well-formed sha-256 fingerprint. */
export function forgeFingerprints(sdp: string): string {
  return sdp.replace(/^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)$/gm, (_line, value: string) => {
    const forged = value
      .split(':')
      .map((byte) => (parseInt(byte, 16) ^ 0x5a).toString(16).padStart(2, '0').toUpperCase())
      .join(':');
    return `a=fingerprint:sha-256 ${forged}`;
  });
}

export async function startRewritingProxy(target: string): Promise<RewritingProxy> {
  let rewritten = 0;
  const http: Server = createServer(async (req, res) => {
    const upstream = await fetch(target + req.url, { headers: { 'accept-encoding': 'identity' } });
    const headers: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (name !== 'content-encoding' && name !== 'content-length') headers[name] = value;
    });
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  const sockets = new WebSocketServer({ server: http, path: '/ws' });
  sockets.on('connection', (browser) => {
    const server = new WebSocket(target.replace(/^http/, 'ws') + '/ws');
    const queued: string[] = [];
    server.on('open', () => queued.splice(0).forEach((message) => server.send(message)));
    browser.on('message', (data) => (server.readyState === WebSocket.OPEN ? server.send(String(data)) : queued.push(String(data))));
    server.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; data?: { type?: string; sdp?: string } };
      if (message.type === 'signal' && message.data?.sdp) {
        message.data.sdp = forgeFingerprints(message.data.sdp);
        rewritten++;
      }
      browser.send(JSON.stringify(message));
    });
    browser.on('close', () => server.close());
    server.on('close', () => browser.close());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rewritten: () => rewritten,
    close: () =>
      new Promise((resolve) => {
        sockets.clients.forEach((client) => client.terminate());
        sockets.close();
        http.close(() => resolve());
      }),
  };
}

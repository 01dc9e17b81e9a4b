import { describe, expect, it } from 'vitest';
import { framingRefusal, metricsAccess, redirectTarget } from '../../signal/http.js';
import { clientAddress, hostCheckWarning, hostOfHeader, isAllowedOrigin, isLoopback, isServedHost, normalizeAddress } from '../../signal/origin.js';

describe('client addresses as uWS reports them', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:ffff:c000:020a', '192.0.2.10'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ])('%s is %s', (raw, normalized) => {
    expect(normalizeAddress(raw)).toBe(normalized);
  });

  it('knows loopback in every spelling, and nothing else', () => {
    for (const address of ['127.0.0.1', '127.8.9.1', '::1', '0000:0000:0000:0000:0000:ffff:7f00:0001']) expect(isLoopback(address), address).toBe(true);
    for (const address of ['10.0.0.1', '192.0.2.10', '2001:db8::1', '0000:0000:0000:0000:0000:ffff:c000:020a', 'not an address']) expect(isLoopback(address), address).toBe(false);
  });

  it('takes the proxy-appended X-Forwarded-For entry only when told to trust the proxy', () => {
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9', true)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9', false)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', 'garbage', true)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '', true)).toBe('127.0.0.1');
  });
});

describe('which pages may open the WebSocket', () => {
  const listed = ['https://intranet.example.org'];
  it.each([
    ['https://meet.example.org', 'meet.example.org', true],
    ['https://meet.example.org', 'meet.example.org:443', true],
    ['http://localhost:8080', 'localhost:8080', true],
    ['https://MEET.example.org', 'meet.example.org', true],
    ['https://intranet.example.org', 'meet.example.org', true],
    ['', 'meet.example.org', true],
    ['https://evil.example', 'meet.example.org', false],
    ['https://meet.example.org.evil.example', 'meet.example.org', false],
    ['http://localhost:8081', 'localhost:8080', false],
    ['null', 'meet.example.org', false],
    ['file://', 'meet.example.org', false],
    ['chrome-extension://abc', 'meet.example.org', false],
  ] as const)('Origin %j with Host %j: %s', (origin, host, allowed) => {
    expect(isAllowedOrigin(origin, host, listed)).toBe(allowed);
  });

  it('allows the public host over https even when a proxy rewrites Host', () => {
    expect(isAllowedOrigin('https://meet.example.org', '127.0.0.1:8080', [], 'meet.example.org')).toBe(true);
    expect(isAllowedOrigin('http://meet.example.org', '127.0.0.1:8080', [], 'meet.example.org')).toBe(false);
  });
});

describe('HTTP pieces', () => {
  it('redirects to the same path and query on HTTPS', () => {
    expect(redirectTarget('meet.example.org', '/team', 'a=1', 443)).toBe('https://meet.example.org/team?a=1');
    expect(redirectTarget('meet.example.org:80', '/', '', 8443)).toBe('https://meet.example.org:8443/');
    expect(redirectTarget('[2001:db8::1]:80', '/', '', 443)).toBe('https://[2001:db8::1]/');
    expect(redirectTarget('anything', '/x', '', 443, 'meet.example.org')).toBe('https://meet.example.org/x');
    expect(redirectTarget('evil.example/path', '/', '', 443)).toBeUndefined();
    expect(redirectTarget('', '/', '', 443)).toBeUndefined();
  });

  it('serves metrics to the token holder, or without a token to unproxied loopback clients only', () => {
    const token = 'x'.repeat(20);
    expect(metricsAccess({ token, authorization: `Bearer ${token}`, remoteAddress: '203.0.113.9', proxied: true })).toBe('allowed');
    expect(metricsAccess({ token, authorization: 'Bearer wrong', remoteAddress: '127.0.0.1', proxied: false })).toBe('unauthorized');
    expect(metricsAccess({ token: undefined, authorization: '', remoteAddress: '127.0.0.1', proxied: false })).toBe('allowed');
    expect(metricsAccess({ token: undefined, authorization: '', remoteAddress: '127.0.0.1', proxied: true })).toBe('forbidden');
    expect(metricsAccess({ token: undefined, authorization: '', remoteAddress: '192.0.2.1', proxied: false })).toBe('forbidden');
  });
});

describe('which Host headers are served (DNS rebinding)', () => {
  const policy = { publicHost: 'meet.example.org', allowedOrigins: ['https://intranet.example.org', 'https://[2001:db8::5]:8443'] };

  it.each(['meet.example.org', 'MEET.example.org:8443', 'intranet.example.org:443', '127.0.0.1:8080', '127.9.0.1', '[::1]:8080', 'localhost:8080', '[2001:db8::5]'])('serves %j', (host) => {
    expect(isServedHost(host, policy)).toBe(true);
  });

  it.each(['evil.example', 'evil.example:8080', 'meet.example.org.evil.example', 'meet.example.org.', '192.0.2.10:8080', '', 'meet.example.org/x', 'meet.example.org:80:80', 'user@meet.example.org'])('refuses %j', (host) => {
    expect(isServedHost(host, policy)).toBe(false);
  });

  it('serves every Host without publicHost (development), as before', () => {
    expect(isServedHost('evil.example:8080', { publicHost: undefined, allowedOrigins: [] })).toBe(true);
  });

  it('reads a Host header as a host name without port', () => {
    expect(hostOfHeader('Meet.Example.org:8443')).toBe('meet.example.org');
    expect(hostOfHeader('[::1]:80')).toBe('::1');
    expect(hostOfHeader('a b')).toBeUndefined();
  });

  it('with publicHost, refuses a rebinding page whose Origin equals its Host, and a WebSocket under another Host', () => {
    expect(isAllowedOrigin('http://evil.example:8080', 'evil.example:8080', [], 'meet.example.org')).toBe(false);
    expect(isAllowedOrigin('', 'evil.example:8080', [], 'meet.example.org')).toBe(false);
    expect(isAllowedOrigin('http://meet.example.org:8080', 'meet.example.org:8080', [], 'meet.example.org')).toBe(true);
    // Without publicHost the old rule stands (documented risk, warned about at start).
    expect(isAllowedOrigin('http://evil.example:8080', 'evil.example:8080', [])).toBe(true);
  });

  it('warns only when answering any Host on a network address', () => {
    expect(hostCheckWarning('0.0.0.0', undefined)).toMatch(/DNS rebinding/);
    expect(hostCheckWarning('::', undefined)).toMatch(/publicHost/);
    expect(hostCheckWarning('192.0.2.10', undefined)).toMatch(/publicHost/);
    expect(hostCheckWarning('0.0.0.0', 'meet.example.org')).toBeUndefined();
    expect(hostCheckWarning('127.0.0.1', undefined)).toBeUndefined();
    expect(hostCheckWarning('::1', undefined)).toBeUndefined();
    expect(hostCheckWarning('localhost', undefined)).toBeUndefined();
  });
});

describe('request framing', () => {
  it.each([
    ['get', [['host', 'a'], ['content-length', '0'], ['content-length', '5']], 'more than one Content-Length'],
    ['get', [['content-length', '5'], ['content-length', '5']], 'more than one Content-Length'],
    ['post', [['content-length', '5'], ['content-length', '5']], 'more than one Content-Length'],
    ['get', [['transfer-encoding', 'xchunked']], 'Transfer-Encoding is not accepted'],
    ['post', [['transfer-encoding', 'chunked']], 'Transfer-Encoding is not accepted'],
    ['head', [['content-length', '1']], 'a HEAD request carries no body'],
    ['get', [['content-length', '5, 5']], 'malformed Content-Length'],
    ['get', [['content-length', '-1']], 'malformed Content-Length'],
    ['get', [['host', 'a'], ['host', 'b']], 'more than one Host'],
  ] as const)('%s with %j: %s', (method, headers, reason) => {
    expect(framingRefusal(method, headers)).toBe(reason);
  });

  it('lets plain requests through', () => {
    expect(framingRefusal('get', [['host', 'a'], ['accept', '*/*']])).toBeUndefined();
    expect(framingRefusal('get', [['content-length', '0']])).toBeUndefined();
    expect(framingRefusal('post', [['content-length', '12']])).toBeUndefined();
  });
});

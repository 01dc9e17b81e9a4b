import { describe, expect, it } from 'vitest';
import { metricsAccess, redirectTarget } from '../../signal/http.js';
import { clientAddress, isAllowedOrigin, isLoopback, normalizeAddress } from '../../signal/origin.js';

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

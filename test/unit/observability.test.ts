import { describe, expect, it } from 'vitest';
import { createLogger } from '../../signal/log.js';
import { Counters, renderMetrics } from '../../signal/metrics.js';
import { securityHeaders } from '../../signal/static.js';

describe('the logger', () => {
  const capture = (level: 'debug' | 'info' | 'warn' | 'error') => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level, write: (line) => lines.push(line), now: () => new Date('2025-01-02T03:04:05Z') }) };
  };

  it('writes one JSON object per line with time, level, message and fields', () => {
    const { lines, logger } = capture('info');
    logger.info('listening', { port: 8080, tls: true });
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ time: '2025-01-02T03:04:05.000Z', level: 'info', msg: 'listening', port: 8080, tls: true }]);
  });

  it('leaves out lines below its level', () => {
    const { lines, logger } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((line) => JSON.parse(line).level)).toEqual(['warn', 'error']);
  });

  it('drops fields that could carry what people said or are called, whatever a caller passes', () => {
    const { lines, logger } = capture('debug');
    logger.debug('oops', { name: 'Ada', room: 'budget', password: 'p', sdp: 'v=0', candidate: 'c', chat: 'hi', text: 't', token: 'x', secret: 's', code: 'room-full', level: 'fake' });
    expect(JSON.parse(lines[0]!)).toEqual({ time: '2025-01-02T03:04:05.000Z', level: 'debug', msg: 'oops', code: 'room-full' });
  });
});

describe('metrics text', () => {
  it('lists every family with HELP and TYPE, counters from zero, labels sorted and escaped', () => {
    const counters = new Counters();
    counters.inc('joins');
    counters.inc('joins');
    counters.inc('refusals', 'room-full');
    counters.inc('refusals', 'bad-message', 3);
    counters.inc('refusals', 'we"ird\\');
    const text = renderMetrics(counters, { connections: 4, rooms: 1 });
    expect(text).toContain('# HELP treff_joins_total participants who joined a meeting\n# TYPE treff_joins_total counter\ntreff_joins_total 2\n');
    expect(text).toContain('treff_signals_relayed_total 0\n');
    expect(text).toContain('treff_connections 4\n');
    expect(text).toContain('treff_refusals_total{reason="bad-message"} 3\ntreff_refusals_total{reason="room-full"} 1\ntreff_refusals_total{reason="we\\"ird\\\\"} 1\n');
    // A gauge nobody provided (no TLS here) is left out rather than reported as 0.
    expect(text).not.toContain('treff_tls_certificate_expiry_timestamp_seconds');
  });
});

describe('security headers', () => {
  it('add HSTS only over TLS', () => {
    expect(new Map(securityHeaders(undefined)).has('Strict-Transport-Security')).toBe(false);
    expect(new Map(securityHeaders({ hstsMaxAgeSeconds: 600 })).get('Strict-Transport-Security')).toBe('max-age=600');
  });
});

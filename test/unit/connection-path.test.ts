import { describe, expect, it } from 'vitest';
import { verdict, type CheckResults } from '../../client/check/connection-check.js';
import { connectionPath } from '../../client/call/quality/connection-path.js';

const candidates = (local: Record<string, unknown>, remote: Record<string, unknown>) => [
  { id: 'L1', type: 'local-candidate', ...local },
  { id: 'R1', type: 'remote-candidate', ...remote },
  { id: 'P0', type: 'candidate-pair', state: 'failed', localCandidateId: 'L0', remoteCandidateId: 'R0' },
];

describe('connectionPath: which way the packets go, from getStats()', () => {
  it('reads a direct host path from Chromium transport stats', () => {
    const stats = [
      ...candidates({ candidateType: 'host', protocol: 'udp' }, { candidateType: 'host' }),
      { id: 'P1', type: 'candidate-pair', state: 'succeeded', localCandidateId: 'L1', remoteCandidateId: 'R1' },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
    ];
    expect(connectionPath(stats)).toEqual({ kind: 'direct', protocol: 'udp' });
  });

  it('reports a relayed path and the protocol to the relay', () => {
    const stats = [
      ...candidates({ candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' }, { candidateType: 'srflx' }),
      { id: 'P1', type: 'candidate-pair', state: 'succeeded', localCandidateId: 'L1', remoteCandidateId: 'R1' },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
    ];
    expect(connectionPath(stats)).toEqual({ kind: 'relayed', protocol: 'tls' });
  });

  it('counts a path as relayed when only the other side uses the relay', () => {
    const stats = [
      ...candidates({ candidateType: 'srflx', protocol: 'udp' }, { candidateType: 'relay' }),
      { id: 'P1', type: 'candidate-pair', state: 'succeeded', localCandidateId: 'L1', remoteCandidateId: 'R1' },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
    ];
    expect(connectionPath(stats)).toEqual({ kind: 'relayed', protocol: 'udp' });
  });

  it('reads Firefox stats, which mark the selected pair instead of a transport', () => {
    const stats = [
      ...candidates({ candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' }, { candidateType: 'relay' }),
      { id: 'P1', type: 'candidate-pair', state: 'succeeded', selected: true, localCandidateId: 'L1', remoteCandidateId: 'R1' },
    ];
    expect(connectionPath(stats)).toEqual({ kind: 'relayed', protocol: 'tcp' });
  });

  it('knows nothing before a pair is selected', () => {
    expect(connectionPath(candidates({ candidateType: 'host' }, { candidateType: 'host' }))).toBeNull();
  });
});

describe('verdict: the connection check in one sentence', () => {
  const results = (overrides: Partial<CheckResults>): CheckResults => ({
    signalling: 'ok',
    udp: 'ok',
    'turn-udp': 'ok',
    'turn-tcp': 'ok',
    turns: 'unavailable',
    ...overrides,
  });

  it.each([
    [{}, 'all-good'],
    [{ udp: 'failed' }, 'relay-udp'],
    [{ udp: 'failed', 'turn-udp': 'failed' }, 'relay-tcp'],
    [{ udp: 'failed', 'turn-udp': 'failed', 'turn-tcp': 'failed', turns: 'ok' }, 'relay-tls'],
    [{ 'turn-udp': 'unavailable', 'turn-tcp': 'unavailable' }, 'direct-only'],
    [{ udp: 'failed', 'turn-udp': 'failed', 'turn-tcp': 'failed', turns: 'failed' }, 'blocked'],
    [{ signalling: 'failed', udp: 'failed', 'turn-udp': 'failed', 'turn-tcp': 'failed' }, 'server-unreachable'],
  ] as const)('%j → %s', (overrides, expected) => {
    expect(verdict(results(overrides))).toBe(expected);
  });
});

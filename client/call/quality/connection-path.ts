// Which way a connection's packets actually go, read from getStats(): straight to the other
// browser, or through the relay (still end-to-end encrypted: the relay forwards ciphertext).

import { selectedPair, statsById, type Stat } from './stats.js';

export type ConnectionPath = { kind: 'direct' | 'relayed'; protocol: 'udp' | 'tcp' | 'tls' };

export function connectionPath(stats: Iterable<Stat>): ConnectionPath | null {
  const byId = statsById(stats);
  const pair = selectedPair(byId.values());
  if (!pair) return null;
  const local = byId.get(String(pair.localCandidateId));
  const remote = byId.get(String(pair.remoteCandidateId));
  if (!local || !remote) return null;
  const relayed = local.candidateType === 'relay' || remote.candidateType === 'relay';
  const protocol = relayed && local.candidateType === 'relay' ? String(local.relayProtocol ?? 'udp') : String(local.protocol ?? 'udp');
  return { kind: relayed ? 'relayed' : 'direct', protocol: protocol === 'tls' || protocol === 'tcp' ? protocol : 'udp' };
}

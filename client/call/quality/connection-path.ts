// Which way a connection's packets actually go, read from getStats(): straight to the other
// browser, or through the relay (still end-to-end encrypted: the relay forwards ciphertext).

export type ConnectionPath = { kind: 'direct' | 'relayed'; protocol: 'udp' | 'tcp' | 'tls' };

type Stat = Record<string, unknown>;

export function connectionPath(stats: Iterable<Stat>): ConnectionPath | null {
  const byId = new Map<string, Stat>();
  for (const stat of stats) byId.set(String(stat.id), stat);
  const transport = [...byId.values()].find((stat) => stat.type === 'transport' && stat.selectedCandidatePairId);
  // Firefox has no transport stats: its selected pair carries `selected: true`.
  const pair = transport
    ? byId.get(String(transport.selectedCandidatePairId))
    : [...byId.values()].find((stat) => stat.type === 'candidate-pair' && stat.selected === true && stat.state === 'succeeded');
  if (!pair) return null;
  const local = byId.get(String(pair.localCandidateId));
  const remote = byId.get(String(pair.remoteCandidateId));
  if (!local || !remote) return null;
  const relayed = local.candidateType === 'relay' || remote.candidateType === 'relay';
  const protocol = relayed && local.candidateType === 'relay' ? String(local.relayProtocol ?? 'udp') : String(local.protocol ?? 'udp');
  return { kind: relayed ? 'relayed' : 'direct', protocol: protocol === 'tls' || protocol === 'tcp' ? protocol : 'udp' };
}

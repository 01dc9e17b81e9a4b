// One reading of a connection's statistics (getStats), shared by everything that judges the
// connection: its path, its encryption, who hears whom, the bitrate plan.

/** One entry of an RTCStatsReport, as untrusted loose data (browsers differ in what they report). */
export type Stat = Record<string, unknown>;

export function statsById(stats: Iterable<Stat>): Map<string, Stat> {
  const byId = new Map<string, Stat>();
  for (const stat of stats) byId.set(String(stat.id), stat);
  return byId;
}

/**
 * The candidate pair the connection sends on: the transport names it (Chromium); Firefox has no
 * transport stats, its pair carries `selected: true`; before either is reported, the nominated
 * pair that succeeded.
 */
export function selectedPair(stats: Iterable<Stat>): Stat | undefined {
  const byId = statsById(stats);
  const all = [...byId.values()];
  const transport = all.find((stat) => stat.type === 'transport' && stat.selectedCandidatePairId);
  if (transport) return byId.get(String(transport.selectedCandidatePairId));
  const succeeded = all.filter((stat) => stat.type === 'candidate-pair' && stat.state === 'succeeded');
  return succeeded.find((stat) => stat.selected === true) ?? succeeded.find((stat) => stat.nominated === true);
}

export async function readStats(connection: RTCPeerConnection): Promise<Stat[]> {
  return [...(await connection.getStats()).values()] as Stat[];
}

// Plain WebRTC readings a Peer judges its connection by (nothing of simple-peer here).

/**
 * A participant who sends anything sends packets all the time (a muted microphone sends silence,
 * a camera turned off black frames): this long without one, the tile says "reconnecting" at once,
 * while browsers take 5–8 s to call the path 'disconnected'. Only ICE's own verdict restarts ICE.
 */
const SILENCE_MS = 1500;

export class SilenceWatch {
  /** The newest packet time seen from this participant, and when (our clock) it last moved on. */
  private heard: { packetTime: number; changedAt: number } | null = null;

  /** Whether a participant who was sending has not been heard (no packet of any stream) for SILENCE_MS. */
  silent(pc: RTCPeerConnection, now: number): boolean {
    const sources = pc.getReceivers().flatMap((receiver) => receiver.getSynchronizationSources?.() ?? []);
    // Compared with itself only: browsers differ in the clock these timestamps are on.
    const packetTime = Math.max(-Infinity, ...sources.map((source) => source.timestamp));
    if (packetTime === -Infinity) return this.heard !== null && now - this.heard.changedAt >= SILENCE_MS;
    if (this.heard?.packetTime !== packetTime) this.heard = { packetTime, changedAt: now };
    return now - this.heard.changedAt >= SILENCE_MS;
  }
}

export function dtlsTransports(pc: RTCPeerConnection | undefined | null): RTCDtlsTransport[] {
  if (!pc) return [];
  const transports = [pc.sctp?.transport, ...pc.getTransceivers().flatMap((t) => [t.sender.transport, t.receiver.transport])];
  return transports.filter((transport): transport is RTCDtlsTransport => Boolean(transport));
}

/** From the next ICE restart on, this connection gathers (and so uses) relay candidates only. */
export function useRelayOnly(pc: RTCPeerConnection): void {
  try {
    pc.setConfiguration({ ...pc.getConfiguration(), iceTransportPolicy: 'relay' });
  } catch (error) {
    console.warn('could not switch the connection to the relay', error);
  }
}

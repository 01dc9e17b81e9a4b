// The part of a call that exists once joined: the mesh and what watches it (quality, safety
// numbers, relay renewal, lost-peer reports). It decides what happens to each peer and tells every
// feature in one place each; it ends (stop) when the call ends or starts afresh.

import type { IceServer, Participant, ParticipantId, ServerMessage } from '../../signal/protocol.js';
import type { CallParts, CallOptions } from './call.js';
import type { Chat } from './chat.js';
import type { TimerId } from './clock.js';
import { CredentialRefresh } from './connection/credential-refresh.js';
import type { ConnectionState } from './connection/mesh.js';
import type { PeerMessage } from './connection/peer-protocol.js';
import type { Signalling } from './connection/signalling.js';
import type { CallContext, CallFeature, MeshPart } from './context.js';
import { unhandled } from './exhaustive.js';
import type { Presence } from './presence.js';
import { CallQuality } from './quality/call-quality.js';
import { CallSafety } from './safety/call-safety.js';
import { newParticipant, participantOf } from './state.js';

/** How often the server hears which peers' connections are down. */
const PEER_LOST_CHECK_MS = 3000;

export interface JoinedCallDeps {
  context: CallContext;
  parts: CallParts;
  options: CallOptions;
  presence: Presence;
  chat: Chat;
  /** The current connection to the server, if any. */
  signalling(): Signalling | null;
}

export class JoinedCall {
  readonly mesh: MeshPart;
  readonly quality: CallQuality;
  readonly safety: CallSafety;
  readonly #relay: CredentialRefresh;
  readonly #lostCheck: TimerId;

  readonly #deps: JoinedCallDeps;
  constructor(
    deps: JoinedCallDeps,
    { iceServers, uplinkBudgetKbps }: Extract<ServerMessage, { type: 'joined' }>,
  ) {
    this.#deps = deps;
    const { context, parts, options } = deps;
    this.mesh = parts.mesh({
      iceServers,
      relayOnly: options.relayOnly,
      certificate: options.certificate ?? null,
      stream: options.stream,
      events: {
        signal: (to, data) => deps.signalling()?.send({ type: 'signal', to, data }),
        stream: (from, stream) => context.store.patchParticipant(from, { stream }),
        state: (of, connection) => this.#onPeerState(of, connection),
        message: (from, message) => this.#onPeerMessage(from, message),
      },
    });
    this.safety = new CallSafety(context, parts.contacts);
    this.quality = new CallQuality(context, {
      uplinkBudgetBps: uplinkBudgetKbps === undefined ? undefined : uplinkBudgetKbps * 1000,
      onConnectedSample: (id) => this.safety.nudge(id),
    });
    this.#relay = new CredentialRefresh(parts.clock, () => context.store.state.serverConnected && deps.signalling()?.send({ type: 'ice-servers' }));
    this.#relay.schedule(iceServers);
    this.#lostCheck = parts.clock.setInterval(() => this.#reportLostPeers(), PEER_LOST_CHECK_MS);
  }

  get #features(): CallFeature[] {
    return [this.#deps.presence, this.quality, this.safety];
  }

  /** `weOffer`: we are the newcomer, so we send the offer. */
  add(participant: Participant, weOffer: boolean): void {
    const { store } = this.#deps.context;
    if (participantOf(store.state, participant.id)) return;
    store.update({ participants: [...store.state.participants, newParticipant(participant)] });
    this.mesh.connect(participant.id, weOffer);
  }

  /** Someone we knew whose connection to us died meanwhile is back: start over with them. */
  addAgain(participant: Participant, weOffer: boolean): void {
    if (participantOf(this.#deps.context.store.state, participant.id) && !this.mesh.has(participant.id)) this.forget(participant.id);
    this.add(participant, weOffer);
  }

  /** The one way a participant is forgotten: by the mesh, every feature, and the state. */
  forget(id: ParticipantId): void {
    const { store } = this.#deps.context;
    this.mesh.remove(id);
    this.#features.forEach((feature) => feature.forget?.(id));
    store.update({ participants: store.state.participants.filter((p) => p.id !== id) });
  }

  useIceServers(iceServers: IceServer[]): void {
    this.mesh.setIceServers(iceServers);
    this.#relay.schedule(iceServers);
  }

  stop(): void {
    this.quality.stop();
    this.#relay.stop();
    this.#deps.parts.clock.clearInterval(this.#lostCheck);
    this.mesh.destroy();
  }

  #onPeerState(id: ParticipantId, connection: ConnectionState): void {
    const { store } = this.#deps.context;
    const before = participantOf(store.state, id)?.connection;
    store.patchParticipant(id, { connection });
    const features = this.#features;
    if (connection === 'reconnecting' || (connection === 'connected' && before === 'reconnecting')) {
      return features.forEach((feature) => feature.peerReconnecting?.(id, connection === 'reconnecting'));
    }
    if (connection === 'connected') features.forEach((feature) => feature.peerConnected?.(id));
    else features.forEach((feature) => feature.peerLost?.(id));
  }

  #onPeerMessage(from: ParticipantId, message: PeerMessage): void {
    switch (message.type) {
      case 'media':
      case 'screen':
      case 'hand':
        return this.#deps.presence.receive(from, message);
      case 'chat':
        return this.#deps.chat.receive(from, message.text);
      case 'reception':
        return this.quality.onReceptionReport(from, message);
      case 'view':
        return this.quality.theyShowMe(from, { width: message.width, height: message.height });
      case 'verify-commit':
      case 'verify-reveal':
        return this.safety.receive(from, message);
      case 'signal':
        return; // the peer renegotiates by itself
      default:
        return unhandled(message);
    }
  }

  /**
   * Tells the server which peers' connections are down, so a participant whose browser crashed
   * (socket gone, seat held) is let go at once instead of after the seat grace period.
   */
  #reportLostPeers(): void {
    const signalling = this.#deps.signalling();
    if (!signalling) return;
    for (const participant of this.#deps.context.store.state.participants) {
      const connection = this.mesh.connectionTo(participant.id);
      const lost = connection ? ['disconnected', 'failed', 'closed'].includes(connection.iceConnectionState) : participant.connection !== 'connecting';
      if (lost) signalling.send({ type: 'peer-lost', id: participant.id });
    }
  }
}

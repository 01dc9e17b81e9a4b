// What the call's features are handed: the state, the options the call was made with, time, and
// the two ways out (to the server, and to the peers through the mesh, which exists once joined).

import type { ClientMessage, ParticipantId } from '../../signal/protocol.js';
import type { Clock } from './clock.js';
import type { Mesh, MeshOptions } from './connection/mesh.js';
import type { PeerMessage } from './connection/peer-protocol.js';
import type { CallStore } from './state.js';

/** What the call uses of the mesh; a fake one in the call's unit tests. */
export type MeshPart = Pick<Mesh, 'connect' | 'has' | 'signal' | 'send' | 'broadcast' | 'remove' | 'destroy' | 'setIceServers' | 'restartIce' | 'setScreen' | 'audioLevels' | 'connectionTo'>;

export type MeshFactory = (options: MeshOptions) => MeshPart;

export interface CallContext {
  readonly store: CallStore;
  readonly clock: Clock;
  readonly stream: MediaStream | null;
  /** Null until joined, and again after leaving or when the call starts afresh. */
  mesh(): MeshPart | null;
  toServer(message: ClientMessage): void;
}

/**
 * What a feature hears of the call; every hook is optional. The coordinator calls them in one
 * place each, so forgetting a participant, say, reaches every feature through `forget`.
 */
export interface CallFeature {
  /** The data channel to `id` is open (a new connection, not one back from reconnecting). */
  peerConnected?(id: ParticipantId): void;
  /** The connection to `id` is down for good (failed, insecure) or being replaced. */
  peerLost?(id: ParticipantId): void;
  /** The path to `id` broke and ICE is being restarted; `false` once it is back. */
  peerReconnecting?(id: ParticipantId, reconnecting: boolean): void;
  /** The participant left, or their connection is started over. */
  forget?(id: ParticipantId): void;
  /** The call ended or starts afresh. */
  stop?(): void;
}

export type Send = (to: ParticipantId, message: PeerMessage) => void;

// Turns a room outbox into sends to the connections that speak for its participants, and hands
// out relay credentials on the way: whoever enters a call with someone (a `joined` naming others,
// or a rejoiner still connected to others) gets them in it; a member who has none gets them just
// before a second participant arrives.

import type { Counters } from './metrics.js';
import type { ParticipantId, ServerMessage } from './protocol.js';
import type { Outbox, Rooms } from './rooms.js';
import type { Connections } from './session-connections.js';
import type { Effects } from './session-effects.js';
import type { RelayCredentials } from './session-relay.js';

export interface DeliveryOptions {
  rooms: Rooms;
  connections: Connections;
  relayCredentials: RelayCredentials;
  effects: Effects;
  counters: Counters;
  /** A new moderator also learns who knocks at the door (session-door.ts). */
  resendKnocks: (moderator: ParticipantId) => void;
}

export class Delivery {
  constructor(private readonly options: DeliveryOptions) {}

  deliver(outbox: Outbox, now: number, rejoiner?: ParticipantId): void {
    const { counters, relayCredentials: credentials, connections } = this.options;
    for (let { to, message } of outbox) {
      switch (message.type) {
        case 'joined':
          counters.inc('joins');
          if ((message.participants.length > 0 || to === rejoiner) && !credentials.has(to)) message = { ...message, iceServers: credentials.mint(connections.of(to), to, now) };
          break;
        case 'participant-joined':
          if (!credentials.has(to)) {
            const iceServers = credentials.mint(connections.of(to), to, now);
            if (iceServers.length > 0) this.send(to, { type: 'ice-servers', iceServers });
          }
          break;
        case 'moderator-key':
          this.options.resendKnocks(to);
          break;
        case 'signal':
          counters.inc('signalsRelayed');
          break;
        default:
          break;
      }
      this.send(to, message);
    }
  }

  /** The participant is out of its meeting (or lobby): the others are told; its relay credentials are not renewed. */
  leave(id: ParticipantId, now: number): void {
    this.options.relayCredentials.forget(id);
    this.deliver(this.options.rooms.leave(id, now), now);
  }

  private send(to: ParticipantId, message: ServerMessage): void {
    const connection = this.options.connections.of(to);
    if (connection) this.options.effects.send(connection, message);
  }
}

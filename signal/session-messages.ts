// What the session core does with each validated client message: greet (hello, resume or adopt
// an id), join through the door, relay signals, hand out relay credentials, moderator actions and
// peer-lost reports. A handler refuses by throwing a ProtocolError; the session turns it into an
// `error` message to the sender.

import { SlidingWindow } from './attempts.js';
import { adoptable, idForToken } from './identity.js';
import type { Counters } from './metrics.js';
import { CloseCode, PROTOCOL_VERSION, ProtocolError, type ClientMessage, type ParticipantId, type SignalData } from './protocol.js';
import type { Rooms } from './rooms.js';
import type { Seats } from './seats.js';
import type { Connection, ConnectionRef, Connections } from './session-connections.js';
import type { Delivery } from './session-delivery.js';
import type { Door } from './session-door.js';
import type { Effects } from './session-effects.js';
import type { RelayCredentials } from './session-relay.js';

/**
 * A relayed signal is refused to its sender while this much is already waiting for the receiver:
 * whoever floods a member is throttled, not the member (uWS drops a socket at 1 MiB, attack 9).
 * A full meeting's join sends the newcomer about 11 offers of ~10 KB: far below.
 */
export const SLOW_RECEIVER_BYTES = 256 * 1024;
/** mute-all asks every member's browser to mute: a moderator needs it now and then, not in a loop. */
const MUTE_ALL = { maxEvents: 3, windowMs: 60_000 };

export interface ClientMessagesOptions {
  rooms: Rooms;
  seats: Seats;
  counters: Counters;
  connections: Connections;
  door: Door;
  delivery: Delivery;
  relayCredentials: RelayCredentials;
  effects: Effects;
  /** Bytes waiting to be written to a connection (uWS getBufferedAmount). */
  backlog: (ref: ConnectionRef) => number;
  newToken: () => string;
}

export class ClientMessages {
  private readonly muteAlls = new SlidingWindow(MUTE_ALL);

  constructor(private readonly options: ClientMessagesOptions) {}

  handle(connection: Connection, msg: ClientMessage, now: number): void {
    const id = connection.id;
    if (id === undefined) {
      if (msg.type !== 'hello') throw new ProtocolError('hello-required', 'send hello first');
      return this.hello(connection, msg, now);
    }
    const { rooms, door, delivery, effects, relayCredentials } = this.options;
    switch (msg.type) {
      case 'hello':
        // One hello per socket: a second one would change the id of a socket that may be in a room.
        throw new ProtocolError('bad-message', 'hello was already said');
      case 'join':
        return door.join(connection, id, msg, now);
      case 'signal':
        return this.relay(connection, id, msg.to, msg.data, now);
      case 'leave':
        door.withdraw(connection);
        return delivery.leave(id, now);
      case 'ping':
        return effects.send(connection, { type: 'pong' });
      case 'ice-servers':
        if (rooms.roomOf(id) === undefined) throw new ProtocolError('not-in-room', 'join a meeting first');
        return effects.send(connection, { type: 'ice-servers', iceServers: relayCredentials.renew(connection, id, now) });
      case 'set-password':
        return door.setPassword(connection, id, msg.password, now);
      case 'make-moderator':
        return delivery.deliver(rooms.makeModerator(id, msg.id), now);
      case 'remove': {
        const removed = this.options.connections.of(msg.id);
        const room = rooms.roomOf(id);
        delivery.deliver(rooms.remove(id, msg.id, now), now);
        relayCredentials.forget(msg.id);
        // The seat (resume token) stays: the removed browser is still connected and may join
        // another meeting; the door keeps it out of this one.
        return door.removed(room!, msg.id, removed?.block, now);
      }
      case 'mute-all':
        rooms.requireModerator(id);
        if (!this.muteAlls.take(String(connection.ref), now)) throw new ProtocolError('rate-limited', 'you asked everyone to mute a moment ago');
        return delivery.deliver(rooms.muteAll(id), now);
      case 'lock':
        return delivery.deliver(rooms.setLocked(id, msg.locked), now);
      case 'lobby':
        return delivery.deliver(rooms.setLobby(id, msg.enabled), now);
      case 'admit':
        if (door.admitKnocker(id, msg.id, now)) return;
        return delivery.deliver(rooms.admitFromLobby(id, msg.id), now);
      case 'decline':
        if (door.decline(id, msg.id)) return;
        return delivery.deliver(rooms.decline(id, msg.id), now);
      case 'peer-lost':
        return this.peerLost(id, msg.id, now);
      default:
        return unhandled(msg);
    }
  }

  prune(now: number): void {
    this.muteAlls.prune(now);
  }

  /** Greets a socket: with a valid resume token it takes back its participant's seat and id. */
  private hello(connection: Connection, msg: Extract<ClientMessage, { type: 'hello' }>, now: number): void {
    const { seats, rooms, connections, effects } = this.options;
    if (msg.version !== PROTOCOL_VERSION) {
      effects.refuse(connection, 'version-mismatch', `this page is out of date (protocol ${msg.version}, server ${PROTOCOL_VERSION}): reload it`);
      return effects.close(connection.ref, CloseCode.VersionMismatch, 'version mismatch');
    }
    const resumeToken = msg.resumeToken;
    const resumedId = resumeToken ? seats.resume(resumeToken, now) : null;
    if (resumeToken && resumedId) {
      const previous = connections.of(resumedId);
      if (previous && previous !== connection) {
        // A half-open old connection: the new one wins, quietly.
        previous.superseded = true;
        effects.close(previous.ref, CloseCode.GoingAway, 'resumed elsewhere');
      }
      connections.take(connection, resumedId);
      return effects.send(connection, { type: 'welcome', you: resumedId, resumeToken, resumed: true });
    }
    // A token we do not know (we restarted, or the seat expired) still proves its id: take it
    // unless that id is in use; otherwise a fresh token and id.
    const inUse = (id: ParticipantId) => connections.hasParticipant(id) || seats.has(id) || rooms.roomOf(id) !== undefined;
    const token = resumeToken && adoptable(resumeToken) && !inUse(idForToken(resumeToken)) ? resumeToken : this.options.newToken();
    const id = idForToken(token);
    connections.take(connection, id);
    seats.issue(id, token);
    effects.send(connection, { type: 'welcome', you: id, resumeToken: token, resumed: false });
  }

  private relay(connection: Connection, from: ParticipantId, to: ParticipantId, data: SignalData, now: number): void {
    const outbox = this.options.rooms.relay(from, to, data);
    const receiver = this.options.connections.of(to);
    if (receiver && this.options.backlog(receiver.ref) > SLOW_RECEIVER_BYTES) {
      // Dropped; the sender hears of it on the first and every 100th, so the refusals cannot flood it in turn.
      if (connection.refusedForSlowReceiver++ % 100 === 0) throw new ProtocolError('rate-limited', 'that participant is not keeping up with your messages: slow down');
      this.options.counters.inc('refusals', 'slow-receiver');
      return;
    }
    connection.refusedForSlowReceiver = 0;
    this.options.delivery.deliver(outbox, now);
  }

  /**
   * Both the socket and a peer's media are gone: a crash, not a blip, so the seat goes now. Only
   * the same meeting counts, and never a seat the server itself dropped for backpressure: another
   * member could have caused that on purpose (attack 9).
   */
  private peerLost(reporter: ParticipantId, lost: ParticipantId, now: number): void {
    const { rooms, seats } = this.options;
    const room = rooms.roomOf(lost);
    if (seats.holdReason(lost) !== 'connection-lost' || room === undefined || room !== rooms.roomOf(reporter)) return;
    seats.forget(lost);
    this.options.delivery.leave(lost, now);
  }
}

// The `never` parameter makes the compiler reject a switch above that forgets a message type.
function unhandled(msg: never): never {
  throw new ProtocolError('bad-message', `unknown message type "${(msg as { type: string }).type}"`);
}

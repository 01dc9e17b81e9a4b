// The moderator's side of a meeting: the role, the meeting's rules, the lobby, and the actions
// the moderator takes. The server checks every action; the UI only offers them to the moderator.

import type { ParticipantId, RoomSettings, ServerMessage } from '../../signal/protocol.js';
import type { KeyValueStore } from '../storage.js';
import type { CallContext } from './context.js';
import { unhandled } from './exhaustive.js';
import { rememberModeratorKey, rememberedModeratorKey } from './moderator-key.js';
import { rulesToRestore } from './session.js';
import { isModerator } from './state.js';

export type ModerationMessage = Extract<ServerMessage, { type: 'moderator-changed' | 'moderator-key' | 'room-settings' | 'knocking' | 'knock-withdrawn' }>;

export class Moderation {
  readonly #call: CallContext;
  readonly #room: string;
  readonly #keys: KeyValueStore;
  readonly #joinPassword: string | undefined;
  constructor(
    call: CallContext,
    room: string,
    /** The tab's storage, for the moderator key. */
    keys: KeyValueStore,
    /** The password this browser joined with. */
    joinPassword: string | undefined,
  ) {
    this.#call = call;
    this.#room = room;
    this.#keys = keys;
    this.#joinPassword = joinPassword;
  }

  /** The key that gives the role back after a reload, if this tab holds one. */
  get moderatorKey(): string | undefined {
    return rememberedModeratorKey(this.#keys, this.#room);
  }

  keepModeratorKey(key: string | undefined): void {
    if (key) rememberModeratorKey(this.#keys, this.#room, key);
  }

  receive(message: ModerationMessage): void {
    const { store } = this.#call;
    switch (message.type) {
      case 'moderator-changed':
        return store.update({ moderator: message.moderator, ...(message.moderator === store.state.you ? {} : { lobby: [] }) });
      case 'moderator-key':
        this.keepModeratorKey(message.key);
        if (store.state.phase === 'joined') store.update({ notice: 'you-are-moderator' });
        return;
      case 'room-settings':
        return store.update({ settings: message.settings });
      case 'knocking':
        if (!store.state.lobby.some((p) => p.id === message.participant.id)) store.update({ lobby: [...store.state.lobby, message.participant] });
        return;
      case 'knock-withdrawn':
        return this.#dropFromLobby(message.id);
      default:
        return unhandled(message);
    }
  }

  /** Back on a restarted server: as moderator, bring back the rules it forgot. */
  restoreRules(before: RoomSettings): void {
    if (!isModerator(this.#call.store.state)) return;
    const password = this.#call.store.state.password ?? this.#joinPassword;
    rulesToRestore(before, this.#call.store.state.settings, password).forEach((message) => this.#call.toServer(message));
  }

  setPassword(password: string | null): void {
    this.#call.toServer({ type: 'set-password', password });
    this.#call.store.update({ password });
  }

  makeModerator(id: ParticipantId): void {
    this.#call.toServer({ type: 'make-moderator', id });
  }

  remove(id: ParticipantId): void {
    this.#call.toServer({ type: 'remove', id });
  }

  muteAll(): void {
    this.#call.toServer({ type: 'mute-all' });
  }

  lock(locked: boolean): void {
    this.#call.toServer({ type: 'lock', locked });
  }

  setLobby(enabled: boolean): void {
    this.#call.toServer({ type: 'lobby', enabled });
  }

  /** Lets someone in from the lobby. */
  letIn(id: ParticipantId): void {
    this.#call.toServer({ type: 'admit', id });
    this.#dropFromLobby(id);
  }

  turnAway(id: ParticipantId): void {
    this.#call.toServer({ type: 'decline', id });
    this.#dropFromLobby(id);
  }

  #dropFromLobby(id: ParticipantId): void {
    this.#call.store.update({ lobby: this.#call.store.state.lobby.filter((p) => p.id !== id) });
  }
}

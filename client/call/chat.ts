// The meeting's chat as this browser saw it. Messages go peer to peer over the data channels; the
// server never sees them, and nobody keeps a history: whoever joins later starts with an empty chat.

import type { ParticipantId } from '../../signal/protocol.js';
import { normalizeChatText } from './connection/peer-protocol.js';
import type { CallContext } from './context.js';
import { participantOf } from './state.js';

export interface ChatMessage {
  /** Local sequence number, for keys in lists. */
  id: number;
  /** Who sent it: the connection it arrived on; null for this browser's own messages. */
  from: ParticipantId | null;
  /** The sender's display name as the server introduced them when the message arrived. */
  name: string;
  text: string;
  /** When it arrived (or was sent), by this browser's clock: a sender's clock is not trusted either. */
  at: number;
}

/** The most messages kept in memory; older ones scroll away. */
export const CHAT_HISTORY_LIMIT = 500;

let sequence = 0;

export function appendChat(history: readonly ChatMessage[], message: Omit<ChatMessage, 'id'>): ChatMessage[] {
  const next = [...history, { ...message, id: ++sequence }];
  return next.length > CHAT_HISTORY_LIMIT ? next.slice(next.length - CHAT_HISTORY_LIMIT) : next;
}

/** Messages from others since the reader last looked. */
export function unreadCount(history: readonly ChatMessage[], seenUpTo: number): number {
  return history.filter((message) => message.id > seenUpTo && message.from !== null).length;
}

/** Sends and receives the chat; the sender of a message is the connection it came on. */
export class Chat {
  readonly #call: CallContext;
  readonly #myName: string;
  constructor(
    call: CallContext,
    myName: string,
  ) {
    this.#call = call;
    this.#myName = myName;
  }

  /** Sends a chat message to everyone connected; false when the text is empty or too long. */
  send(input: string): boolean {
    const text = normalizeChatText(input);
    const mesh = this.#call.mesh();
    if (text === null || !mesh) return false;
    mesh.broadcast({ type: 'chat', text });
    this.#append(null, this.#myName, text);
    return true;
  }

  receive(from: ParticipantId, text: string): void {
    // Named as the server introduced them.
    const sender = participantOf(this.#call.store.state, from);
    if (sender) this.#append(from, sender.name, text);
  }

  #append(from: ParticipantId | null, name: string, text: string): void {
    const { store, clock } = this.#call;
    store.update({ chat: appendChat(store.state.chat, { from, name, text, at: clock.now() }) });
  }
}

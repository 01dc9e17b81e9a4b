// The WebSocket to the signalling server: says hello with the protocol version, validates
// everything the server sends, and reports the socket's end to its owner.

import { PROTOCOL_VERSION, parseServerMessage, type ClientMessage, type ServerMessage } from '../../../signal/protocol.js';

export interface SignallingHandlers {
  onMessage(message: ServerMessage): void;
  /** The socket ended; `code` is the WebSocket close code (1006 when the server was unreachable). */
  onClose(code: number): void;
}

/** What the call needs of a connection to the server; a fake one in the call's unit tests. */
export interface Signalling {
  send(message: ClientMessage): void;
  close(): void;
}

/** Opens a new connection; resumeToken: from an earlier welcome, to take back our seat after the connection dropped. */
export type SignallingFactory = (handlers: SignallingHandlers, resumeToken: string | undefined) => Signalling;

export class SignallingClient implements Signalling {
  readonly #socket: WebSocket;
  #closedByUs = false;

  constructor(url: string, handlers: SignallingHandlers, resumeToken?: string) {
    this.#socket = new WebSocket(url);
    this.#socket.onopen = () => this.send({ type: 'hello', version: PROTOCOL_VERSION, ...(resumeToken ? { resumeToken } : {}) });
    this.#socket.onmessage = (event) => {
      let message: ServerMessage;
      try {
        message = parseServerMessage(event.data);
      } catch (error) {
        console.warn('ignored a malformed message from the server', error);
        return;
      }
      handlers.onMessage(message);
    };
    this.#socket.onclose = (event) => {
      if (!this.#closedByUs) handlers.onClose(event.code);
    };
  }

  send(message: ClientMessage): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  close(): void {
    this.#closedByUs = true;
    this.#socket.close(1000);
  }
}

/** The signalling endpoint on the server that served this page. */
export function signallingUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

/**
 * The endpoint for one meeting: with several servers, the load balancer sends every connection for
 * a meeting to the one server that holds it (issue 15).
 */
export function meetingUrl(endpoint: string, room: string): string {
  return `${endpoint}?room=${encodeURIComponent(room)}`;
}

export function webSocketSignalling(endpoint: string, room: string): SignallingFactory {
  const url = meetingUrl(endpoint, room);
  return (handlers, resumeToken) => new SignallingClient(url, handlers, resumeToken);
}

// The WebSocket to the signalling server: says hello with the protocol version, validates
// everything the server sends, and reports the socket's end to its owner.

import { PROTOCOL_VERSION, parseServerMessage, type ClientMessage, type ServerMessage } from '../../../signal/protocol.js';

export interface SignallingHandlers {
  onMessage(message: ServerMessage): void;
  /** The socket ended; `code` is the WebSocket close code (1006 when the server was unreachable). */
  onClose(code: number): void;
}

export class SignallingClient {
  private readonly socket: WebSocket;
  private closedByUs = false;

  /** resumeToken: from an earlier welcome, to take back our seat after the connection dropped. */
  constructor(url: string, handlers: SignallingHandlers, resumeToken?: string) {
    this.socket = new WebSocket(url);
    this.socket.onopen = () => this.send({ type: 'hello', version: PROTOCOL_VERSION, ...(resumeToken ? { resumeToken } : {}) });
    this.socket.onmessage = (event) => {
      let message: ServerMessage;
      try {
        message = parseServerMessage(event.data);
      } catch (error) {
        console.warn('ignored a malformed message from the server', error);
        return;
      }
      handlers.onMessage(message);
    };
    this.socket.onclose = (event) => {
      if (!this.closedByUs) handlers.onClose(event.code);
    };
  }

  send(message: ClientMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  close(): void {
    this.closedByUs = true;
    this.socket.close(1000);
  }
}

/** The signalling endpoint on the server that served this page. */
export function signallingUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

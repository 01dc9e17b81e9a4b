/**
 * The default of a switch over a validated union: the compiler proves it is never reached, so a
 * message type added to the protocol fails the build until it is handled. At run time (a peer or
 * server newer than this page) it is only noted.
 */
export function unhandled(value: never): void {
  console.warn('unhandled message', value);
}

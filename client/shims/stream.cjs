// simple-peer extends Node's stream.Duplex (readable-stream, with Buffer and string_decoder: about
// 18 KB gzip). Treff uses a peer only through its events ('data', 'signal', 'stream', 'track',
// 'connect', 'close', 'error') and send(), so this stands in for the stream (aliased in
// scripts/build.ts): 'data' is emitted for each data-channel message as it arrives, as a string for a
// text message. Nothing pipes or writes into a peer.
const { EventEmitter } = require('events');

class Duplex extends EventEmitter {
  constructor() {
    super();
    this._readableState = { ended: false };
    this._writableState = { finished: false };
  }

  push(chunk) {
    if (chunk === null) this._readableState.ended = true;
    else if (!this._readableState.ended) this.emit('data', chunk);
    return !this._readableState.ended;
  }

  end() {
    this._writableState.finished = true;
  }
}

module.exports = { Duplex };

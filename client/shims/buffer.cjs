// simple-peer turns binary data-channel messages into Buffers; Treff sends only text, and a
// Uint8Array is all the app would need of one (aliased in scripts/build.ts, see stream.cjs).
module.exports = { Buffer: { from: (data) => new Uint8Array(data) } };

// Renegotiation over the participants' own data channel: what may arrive there.
import { describe, expect, it } from 'vitest';
import { parsePeerMessage } from '../../client/call/connection/peer-protocol.js';

describe('signal messages between peers', () => {
  it('carries offers, answers, candidates and restart requests, checked like the server checks them', () => {
    const datas = [
      { type: 'offer', sdp: 'v=0\r\n' + 'a=x\r\n'.repeat(3000) },
      { type: 'answer', sdp: 'v=0\r\n' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
      { type: 'restart-ice' },
    ];
    for (const data of datas) expect(parsePeerMessage(JSON.stringify({ type: 'signal', data }))).toEqual({ type: 'signal', data });
  });

  it('refuses signal data the protocol refuses, and oversized descriptions', () => {
    for (const data of [undefined, 'offer', { type: 'offer' }, { type: 'offer', sdp: 5 }, { type: 'pranswer', sdp: 'v=0' }, { type: 'offer', sdp: 'x'.repeat(60_000) }]) {
      expect(parsePeerMessage(JSON.stringify({ type: 'signal', data }))).toBeNull();
    }
  });
});

// A participant whose connection to the server drops keeps their seat for the grace period:
// coming back with the resume token gives the same id, and the others notice nothing.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../signal/protocol.js';
import { TestClient, greetedClient, startTestServer, type TestServer } from '../helpers/server.js';

describe('resuming a seat after the connection dropped', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const client = async (label: string) => {
    const c = await greetedClient(server.wsUrl, label);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startTestServer({ seatGraceSeconds: 2 });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('gives the same id back, tells the others nothing, and relays to the new connection', async () => {
    const ada = await client('ada');
    const bob = await client('bob');
    await ada.join('resume', 'Ada');
    await bob.join('resume', 'Bob');
    await ada.next('participant-joined');
    const token = bob.received.find((m) => m.type === 'welcome')!;
    expect(token).toMatchObject({ resumed: false, resumeToken: expect.any(String) });
    const resumeToken = token.type === 'welcome' ? token.resumeToken : '';

    bob.terminate();
    const bobAgain = await TestClient.connect(server.wsUrl, 'bob-again');
    clients.push(bobAgain);
    bobAgain.send({ type: 'hello', version: PROTOCOL_VERSION, resumeToken });
    await expect(bobAgain.next('welcome')).resolves.toEqual({ type: 'welcome', you: bob.id, resumeToken, resumed: true });

    ada.send({ type: 'signal', to: bob.id, data: { type: 'renegotiate', renegotiate: true } });
    await expect(bobAgain.next('signal')).resolves.toMatchObject({ from: ada.id });
    expect(await ada.unreadAfter(2500)).toEqual([]);
    expect(server.server.rooms.roomOf(bob.id)).toBe('resume');
  });

  it('lets the seat go after the grace period: then the others learn that the participant left', async () => {
    const ada = await client('ada');
    const bob = await client('bob');
    await ada.join('expire', 'Ada');
    await bob.join('expire', 'Bob');
    await ada.next('participant-joined');
    const dropped = Date.now();
    bob.terminate();
    await expect(ada.next('participant-left', 5000)).resolves.toEqual({ type: 'participant-left', id: bob.id });
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(1900);
  });

  it('does not hand a seat to a made-up token', async () => {
    const eve = await TestClient.connect(server.wsUrl, 'eve');
    clients.push(eve);
    eve.send({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: 'AAAAAAAAAAAAAAAAAAAAAAAA' });
    await expect(eve.next('welcome')).resolves.toMatchObject({ resumed: false });
  });
});

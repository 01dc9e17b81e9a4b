// Moderator rights and meeting passwords, checked by the real server over real sockets.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, greetedClient, startTestServer, type TestServer } from '../helpers/server.js';

describe('moderator rights and passwords on the real server', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  let rooms = 0;
  const client = async (label: string) => {
    const c = await greetedClient(server.wsUrl, label);
    clients.push(c);
    return c;
  };
  const freshRoom = () => `control-${++rooms}`;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('lets only the moderator set a password; then joining needs it, and people inside stay', async () => {
    const room = freshRoom();
    const ada = await client('ada');
    const bob = await client('bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');

    bob.send({ type: 'set-password', password: 'from-bob' });
    await expect(bob.next('error')).resolves.toMatchObject({ code: 'not-moderator' });

    ada.send({ type: 'set-password', password: 'correct horse' });
    await expect(bob.next('room-settings', 5000)).resolves.toEqual({ type: 'room-settings', settings: { locked: false, lobby: false, hasPassword: true } });
    // Nothing a participant receives carries the password or its hash.
    expect(JSON.stringify([...ada.received, ...bob.received])).not.toMatch(/correct horse|scrypt/);

    const cyd = await client('cyd');
    cyd.send({ type: 'join', room, name: 'Cyd' });
    await expect(cyd.next('error')).resolves.toMatchObject({ code: 'password-required' });
    cyd.send({ type: 'join', room, name: 'Cyd', password: 'wrong' });
    await expect(cyd.next('error', 5000)).resolves.toMatchObject({ code: 'wrong-password' });
    cyd.send({ type: 'join', room, name: 'Cyd', password: 'correct horse' });
    await expect(cyd.next('joined', 5000)).resolves.toMatchObject({ participants: [{ name: 'Ada' }, { name: 'Bob' }], settings: { hasPassword: true } });
    expect(server.server.rooms.roomOf(bob.id)).toBe(room);

    ada.send({ type: 'set-password', password: null });
    await expect(cyd.next('room-settings')).resolves.toMatchObject({ settings: { hasPassword: false } });
  });

  it('throttles password guessing from one address', async () => {
    // A server of its own: the failure counts of the other tests (same loopback address) stay out.
    const previous = server;
    server = await startTestServer();
    try {
      await guessUntilThrottled();
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await server.close();
      server = previous;
    }
  });

  async function guessUntilThrottled(): Promise<void> {
    const room = freshRoom();
    const ada = await client('ada');
    await ada.join(room, 'Ada');
    ada.send({ type: 'set-password', password: 'open-sesame' });
    await ada.next('room-settings', 5000);

    const guesser = await client('guesser');
    const codes: string[] = [];
    for (let guess = 0; guess < 12; guess++) {
      guesser.send({ type: 'join', room, name: 'Guesser', password: `guess-${guess}` });
      codes.push((await guesser.next('error', 5000)).code);
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('wrong-password'));
    expect(codes.slice(10)).toEqual(['too-many-attempts', 'too-many-attempts']);
    // Even the right password waits now: the throttle does not reveal which guess was right.
    guesser.send({ type: 'join', room, name: 'Guesser', password: 'open-sesame' });
    await expect(guesser.next('error', 5000)).resolves.toMatchObject({ code: 'too-many-attempts' });
  }

  it('refuses forged moderator actions and changes nothing', async () => {
    const room = freshRoom();
    const ada = await client('ada');
    const bob = await client('bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');

    for (const forged of [
      { type: 'remove', id: ada.id },
      { type: 'make-moderator', id: bob.id },
      { type: 'mute-all' },
      { type: 'lock', locked: true },
      { type: 'lobby', enabled: true },
    ]) {
      bob.send(forged);
      await expect(bob.next('error')).resolves.toMatchObject({ code: 'not-moderator' });
    }
    expect(await ada.unreadAfter(200)).toEqual([{ type: 'participant-joined', participant: { id: bob.id, name: 'Bob' } }]);
    const cyd = await client('cyd');
    await expect(cyd.join(room, 'Cyd')).resolves.toMatchObject({ moderator: ada.id, settings: { locked: false, lobby: false } });
  });

  it('hands the role on when the moderator leaves, and back to the moderator who reloads with the key', async () => {
    const room = freshRoom();
    const ada = await client('ada');
    const bob = await client('bob');
    const { moderatorKey } = await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');
    await ada.close();
    await expect(bob.next('moderator-changed')).resolves.toEqual({ type: 'moderator-changed', moderator: bob.id });

    const adaAgain = await client('ada-reloaded');
    adaAgain.send({ type: 'join', room, name: 'Ada', moderatorKey });
    await adaAgain.next('joined');
    await expect(bob.next('moderator-changed')).resolves.toEqual({ type: 'moderator-changed', moderator: adaAgain.id });
    await expect(adaAgain.next('moderator-key')).resolves.toMatchObject({ key: expect.any(String) });
  });

  it('runs a lobby: the newcomer waits, the moderator admits', async () => {
    const room = freshRoom();
    const ada = await client('ada');
    await ada.join(room, 'Ada');
    ada.send({ type: 'lobby', enabled: true });
    await ada.next('room-settings');

    const dan = await client('dan');
    dan.send({ type: 'join', room, name: 'Dan' });
    await dan.next('lobby-waiting');
    await expect(ada.next('knocking')).resolves.toEqual({ type: 'knocking', participant: { id: dan.id, name: 'Dan' } });
    ada.send({ type: 'admit', id: dan.id });
    await expect(dan.next('joined')).resolves.toMatchObject({ participants: [{ id: ada.id }] });
  });
});

// The signalling server restarts and comes back empty: the browsers show their old resume tokens,
// get their old ids back (ids are derived from tokens) and rebuild the meeting without anyone
// having to connect their media again. And a browser that crashed leaves promptly.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { idForToken } from '../../signal/identity.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../../signal/protocol.js';
import { freePort } from '../helpers/processes.js';
import { TestClient, greetedClient, startTestServer, type TestServer } from '../helpers/server.js';

const tokenOf = (client: TestClient) => {
  const welcome = client.received.find((m): m is Extract<ServerMessage, { type: 'welcome' }> => m.type === 'welcome');
  return welcome!.resumeToken;
};

describe('a restarted signalling server', () => {
  const servers: TestServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const serverOn = async (port: number, seatGraceSeconds = 20, dataDir?: string) => {
    const server = await startTestServer({ port, seatGraceSeconds, ...(dataDir ? { dataDir } : {}) });
    servers.push(server);
    return server;
  };
  const comeBack = async (server: TestServer, label: string, token: string) => {
    const client = await TestClient.connect(server.wsUrl, label);
    clients.push(client);
    client.send({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: token });
    const welcome = await client.next('welcome');
    client.id = welcome.you;
    return { client, welcome };
  };

  it('is rebuilt from the returning browsers: same ids, same moderator, no one asked to connect again', async () => {
    const port = await freePort();
    // The same data directory before and after, as on a real server: the meeting's record is there.
    const dataDir = mkdtempSync(join(tmpdir(), 'treff-data-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await serverOn(port, 20, dataDir);
    const ada = await greetedClient(first.wsUrl, 'ada');
    const bob = await greetedClient(first.wsUrl, 'bob');
    clients.push(ada, bob);
    const adaJoined = await ada.join('rebuild', 'Ada');
    await bob.join('rebuild', 'Bob');
    const [adaToken, bobToken, key] = [tokenOf(ada), tokenOf(bob), adaJoined.moderatorKey!];
    await first.close();
    await Promise.all([ada.closed, bob.closed]);
    expect((await ada.closed).code).toBe(1001);
    expect(first.server.rooms.roomCount).toBe(1); // the old process's memory; the new one knows nothing

    const second = await serverOn(port, 20, dataDir);
    const bobBack = await comeBack(second, 'bob-back', bobToken);
    expect(bobBack.welcome).toEqual({ type: 'welcome', you: bob.id, resumeToken: bobToken, resumed: false });
    bobBack.client.send({ type: 'join', room: 'rebuild', name: 'Bob', rejoin: { participants: [ada.id] } });
    // Ada is not back yet: the role waits for her.
    expect(await bobBack.client.next('joined')).toMatchObject({ you: bob.id, participants: [], moderator: ada.id });

    const adaBack = await comeBack(second, 'ada-back', adaToken);
    expect(adaBack.welcome.you).toBe(ada.id);
    adaBack.client.send({ type: 'join', room: 'rebuild', name: 'Ada', moderatorKey: key, rejoin: { participants: [bob.id] } });
    expect(await adaBack.client.next('joined')).toMatchObject({ you: ada.id, participants: [{ id: bob.id, name: 'Bob' }], moderator: ada.id, moderatorKey: key });
    await expect(bobBack.client.next('participant-joined')).resolves.toMatchObject({ participant: { id: ada.id } });
    await expect(bobBack.client.next('moderator-changed')).resolves.toEqual({ type: 'moderator-changed', moderator: ada.id });

    // The moderator sets a password; a stranger does not get in past it.
    adaBack.client.send({ type: 'set-password', password: 'open-sesame' });
    await adaBack.client.next('room-settings', 5000);
    const eve = await greetedClient(second.wsUrl, 'eve');
    clients.push(eve);
    eve.send({ type: 'join', room: 'rebuild', name: 'Eve', rejoin: { participants: [ada.id] } });
    await expect(eve.next('error')).resolves.toMatchObject({ code: 'password-required' });

    // Relaying works between the old ids on the new server.
    adaBack.client.send({ type: 'signal', to: bob.id, data: { type: 'renegotiate', renegotiate: true } });
    await expect(bobBack.client.next('signal')).resolves.toMatchObject({ from: ada.id });
  });

  it('adopts an unknown token only as the id it proves, never as anyone else\'s', async () => {
    const server = await serverOn(0);
    const ada = await greetedClient(server.wsUrl, 'ada');
    clients.push(ada);
    await ada.join('taken', 'Ada');
    const token = 'x'.repeat(24);
    const stranger = await comeBack(server, 'stranger', token);
    expect(stranger.welcome).toEqual({ type: 'welcome', you: idForToken(token), resumeToken: token, resumed: false });
    expect(stranger.welcome.you).not.toBe(ada.id);
    // Too short to be a real token: a fresh one instead.
    const short = await comeBack(server, 'short', 'abc');
    expect(short.welcome.resumeToken).not.toBe('abc');
  });

  it('lets a crashed participant go as soon as a peer reports the connection lost', async () => {
    const server = await serverOn(0, 20);
    const ada = await greetedClient(server.wsUrl, 'ada');
    const bob = await greetedClient(server.wsUrl, 'bob');
    clients.push(ada, bob);
    await ada.join('crash', 'Ada');
    await bob.join('crash', 'Bob');
    await ada.next('participant-joined');
    // A report about someone still connected changes nothing.
    ada.send({ type: 'peer-lost', id: bob.id });
    expect(await ada.unreadAfter(300)).toEqual([]);
    bob.terminate();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reported = Date.now();
    ada.send({ type: 'peer-lost', id: bob.id });
    await expect(ada.next('participant-left', 2000)).resolves.toEqual({ type: 'participant-left', id: bob.id });
    expect(Date.now() - reported).toBeLessThan(1000);
    ada.send({ type: 'leave' });
    await ada.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.server.rooms.roomCount).toBe(0);
    expect(server.server.seatCount).toBe(0);
  });
});

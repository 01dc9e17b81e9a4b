// Hostile strangers after a crash (issue 11, attacks 3 and 4): the server process is killed with
// SIGKILL and started again on the same data directory, as systemd's Restart=on-failure would.
// A stranger who knows the meeting's name and arrives first must meet the meeting's password and
// get no role; the members and the moderator come back as they were.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type ServerMessage } from '../../signal/protocol.js';
import { freePort, startMain, waitForOutput, type MainProcess } from '../helpers/processes.js';
import { TestClient, greetedClient } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';

describe('a protected meeting when the server crashes and restarts', () => {
  let dataDir: string;
  let port: number;
  let server: MainProcess | undefined;
  const clients: TestClient[] = [];
  const wsUrl = () => `ws://127.0.0.1:${port}/ws`;
  const start = async () => {
    server = startMain({ TREFF_PORT: String(port), TREFF_DATA_DIR: dataDir, TREFF_SEAT_GRACE: '20' });
    await waitForOutput(server, /signalling server listening/);
  };
  const crash = async () => {
    server!.child.kill('SIGKILL');
    await server!.exited;
  };
  const client = async (label: string) => {
    const c = await greetedClient(wsUrl(), label);
    clients.push(c);
    return c;
  };
  /** A browser coming back with the resume token from its first welcome. */
  const comeBack = async (before: TestClient, label: string) => {
    const token = (before.received.find((m) => m.type === 'welcome') as Extract<ServerMessage, { type: 'welcome' }>).resumeToken;
    const c = await TestClient.connect(wsUrl(), label);
    clients.push(c);
    c.send({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: token });
    c.id = (await c.next('welcome')).you;
    expect(c.id).toBe(before.id);
    return c;
  };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'treff-hostile-restart-'));
    port = await freePort();
    await start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('asks the stranger who arrives first for the password, and gives the role back to the moderator only', async () => {
    const ada = await client('ada');
    const ben = await client('ben');
    const adasKey = (await ada.join('council', 'Ada')).moderatorKey!;
    await ben.join('council', 'Ben');
    ada.send({ type: 'set-password', password: PASSWORD });
    await expect(ada.next('room-settings', 5000)).resolves.toMatchObject({ settings: { hasPassword: true } });
    ada.send({ type: 'lobby', enabled: true });
    await ada.next('room-settings');

    await crash();
    await Promise.all([ada.closed, ben.closed]);
    await start();

    // The stranger is first, with a plain join: the password is back before anyone else is.
    const eve = await client('eve');
    eve.send({ type: 'join', room: 'council', name: 'Eve' });
    await expect(eve.next('error')).resolves.toMatchObject({ code: 'password-required' });
    // Claiming to be back from before, with a made-up list and key, changes nothing.
    eve.send({ type: 'join', room: 'council', name: 'Eve', moderatorKey: 'A'.repeat(44), rejoin: { participants: [ada.id, ben.id] } });
    await expect(eve.next('error')).resolves.toMatchObject({ code: 'password-required' });

    // Ben comes back: no password asked (his id proves he was in), and Ada still moderates.
    const benBack = await comeBack(ben, 'ben-back');
    benBack.send({ type: 'join', room: 'council', name: 'Ben', rejoin: { participants: [ada.id] } });
    await expect(benBack.next('joined')).resolves.toMatchObject({ participants: [], moderator: ada.id, settings: { hasPassword: true, lobby: true } });

    // Ada comes back with her key: the role and the key are hers.
    const adaBack = await comeBack(ada, 'ada-back');
    adaBack.send({ type: 'join', room: 'council', name: 'Ada', moderatorKey: adasKey, rejoin: { participants: [ben.id] } });
    await expect(adaBack.next('joined')).resolves.toMatchObject({ moderator: ada.id, moderatorKey: adasKey, participants: [{ id: ben.id }] });

    // The stranger, even with the password, now waits in the lobby for Ada.
    eve.send({ type: 'join', room: 'council', name: 'Eve', password: PASSWORD });
    await expect(eve.next('lobby-waiting', 5000)).resolves.toEqual({ type: 'lobby-waiting' });
    await expect(adaBack.next('knocking')).resolves.toMatchObject({ participant: { id: eve.id, name: 'Eve' } });
    // Nothing from the members ever reached her.
    expect(eve.received.filter((m) => m.type === 'signal' || m.type === 'joined' || m.type === 'participant-joined')).toEqual([]);
  });

  it('does not give the role back to a moderator who handed it over before the crash', async () => {
    const ada = await client('ada');
    const ben = await client('ben');
    const adasKey = (await ada.join('handover', 'Ada')).moderatorKey!;
    await ben.join('handover', 'Ben');
    ada.send({ type: 'make-moderator', id: ben.id });
    await expect(ben.next('moderator-key')).resolves.toMatchObject({ type: 'moderator-key' });

    await crash();
    await start();

    const adaBack = await comeBack(ada, 'ada-back');
    adaBack.send({ type: 'join', room: 'handover', name: 'Ada', moderatorKey: adasKey, rejoin: { participants: [ben.id] } });
    const joined = await adaBack.next('joined');
    expect(joined.moderator).toBe(ben.id);
    expect(joined.moderatorKey).toBeUndefined();
    adaBack.send({ type: 'lock', locked: true });
    await expect(adaBack.next('error')).resolves.toMatchObject({ code: 'not-moderator' });
  });
});

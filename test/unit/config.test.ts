import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../signal/config.js';

const defaults = { staticDir: '/srv/treff/client' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, defaults);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig: an operator configures the server through the environment', () => {
  it('starts with sensible defaults when nothing is set', () => {
    expect(loadConfig({}, defaults)).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      roomCapacity: 8,
      audioOnlyCapacity: 12,
      uplinkBudgetKbps: 2500,
      staticDir: '/srv/treff/client',
      maxMessageBytes: 64 * 1024,
      idleTimeoutSeconds: 32,
    });
  });

  it('keeps listener seats beyond the video seats: 4 more by default, never fewer than the video seats', () => {
    expect(loadConfig({ TREFF_ROOM_CAPACITY: '20' }, defaults)).toMatchObject({ roomCapacity: 20, audioOnlyCapacity: 24 });
    expect(loadConfig({ TREFF_ROOM_CAPACITY: '6', TREFF_AUDIO_ONLY_CAPACITY: '6' }, defaults)).toMatchObject({ audioOnlyCapacity: 6 });
    const error = configError({ TREFF_ROOM_CAPACITY: '6', TREFF_AUDIO_ONLY_CAPACITY: '5' });
    expect(error.message).toContain('TREFF_AUDIO_ONLY_CAPACITY');
    expect(error.message).toContain('TREFF_ROOM_CAPACITY');
  });

  it('treats an empty setting as unset', () => {
    expect(loadConfig({ TREFF_PORT: '', TREFF_ROOM_CAPACITY: '' }, defaults)).toMatchObject({ port: 8080, roomCapacity: 8 });
  });

  it('reads every setting', () => {
    expect(
      loadConfig(
        {
          TREFF_HOST: '127.0.0.1',
          TREFF_PORT: '3000',
          TREFF_ROOM_CAPACITY: '4',
          TREFF_STATIC_DIR: '/tmp/client',
          TREFF_MAX_MESSAGE_BYTES: '16384',
          TREFF_IDLE_TIMEOUT: '60',
        },
        defaults,
      ),
    ).toMatchObject({ host: '127.0.0.1', port: 3000, roomCapacity: 4, staticDir: '/tmp/client', maxMessageBytes: 16384, idleTimeoutSeconds: 60 });
  });

  it('accepts the edges of each range', () => {
    expect(loadConfig({ TREFF_PORT: '0', TREFF_ROOM_CAPACITY: '2', TREFF_MAX_MESSAGE_BYTES: '4096', TREFF_IDLE_TIMEOUT: '8' }, defaults)).toMatchObject({
      port: 0,
      roomCapacity: 2,
      maxMessageBytes: 4096,
      idleTimeoutSeconds: 8,
    });
    expect(loadConfig({ TREFF_PORT: '65535', TREFF_ROOM_CAPACITY: '50', TREFF_MAX_MESSAGE_BYTES: '1048576', TREFF_IDLE_TIMEOUT: '960' }, defaults)).toMatchObject({
      port: 65535,
      roomCapacity: 50,
      maxMessageBytes: 1048576,
      idleTimeoutSeconds: 960,
    });
  });

  it('tolerates surrounding spaces in a number', () => {
    expect(loadConfig({ TREFF_PORT: ' 9000 ' }, defaults).port).toBe(9000);
  });

  it.each([
    ['TREFF_PORT', 'http'],
    ['TREFF_PORT', '-1'],
    ['TREFF_PORT', '80.5'],
    ['TREFF_PORT', '0x50'],
    ['TREFF_PORT', '1e3'],
    ['TREFF_PORT', '65536'],
    ['TREFF_ROOM_CAPACITY', '1'],
    ['TREFF_ROOM_CAPACITY', '51'],
    ['TREFF_ROOM_CAPACITY', 'eight'],
    ['TREFF_MAX_MESSAGE_BYTES', '4095'],
    ['TREFF_MAX_MESSAGE_BYTES', '1048577'],
    ['TREFF_MAX_MESSAGE_BYTES', '64k'],
    ['TREFF_IDLE_TIMEOUT', '7'],
    ['TREFF_IDLE_TIMEOUT', '961'],
    ['TREFF_IDLE_TIMEOUT', '30s'],
    ['TREFF_UPLINK_BUDGET_KBPS', '299'],
    ['TREFF_UPLINK_BUDGET_KBPS', '2.5M'],
    ['TREFF_AUDIO_ONLY_CAPACITY', '61'],
  ])('refuses %s=%j with an error naming the setting', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(name);
    expect(error.message).toContain(value.trim());
  });
});

describe('loadConfig: the TURN relay', () => {
  it('runs its own relay on port 10000 by default, with short-lived credentials and no TLS', () => {
    expect(loadConfig({}, defaults).relay).toEqual({
      mode: 'internal',
      publicHost: undefined,
      port: 10000,
      tls: undefined,
      secret: undefined,
      dataDir: 'data',
      credentialTtlSeconds: 4 * 3600,
      listenIp: undefined,
      relayIp: undefined,
      externalIp: undefined,
      minPort: 49152,
      maxPort: 65535,
      allowedPeerIps: [],
      relays: [],
      region: undefined,
    });
  });

  it('reads an external relay with its shared secret, host and TLS port', () => {
    const relay = loadConfig(
      {
        TREFF_TURN: 'external',
        TREFF_TURN_SECRET: 'a-shared-secret-of-some-length',
        TREFF_TURN_HOST: 'turn.example.org',
        TREFF_TURN_CERT: '/etc/ssl/turn.pem',
        TREFF_TURN_KEY: '/etc/ssl/turn.key',
        TREFF_TURN_TLS_PORT: '5349',
        TREFF_TURN_ALLOWED_PEER_IPS: '203.0.113.7, 198.51.100.2',
      },
      defaults,
    ).relay;
    expect(relay).toMatchObject({
      mode: 'external',
      secret: 'a-shared-secret-of-some-length',
      publicHost: 'turn.example.org',
      tls: { port: 5349, certFile: '/etc/ssl/turn.pem', keyFile: '/etc/ssl/turn.key' },
      allowedPeerIps: ['203.0.113.7', '198.51.100.2'],
    });
  });

  it.each([
    [{ TREFF_TURN: 'on' }, 'TREFF_TURN'],
    [{ TREFF_TURN: 'external', TREFF_TURN_HOST: 'turn.example.org' }, 'TREFF_TURN_SECRET'],
    [{ TREFF_TURN: 'external', TREFF_TURN_SECRET: 'a-shared-secret-of-some-length' }, 'TREFF_TURN_HOST'],
    [{ TREFF_TURN_SECRET: 'short' }, 'TREFF_TURN_SECRET'],
    [{ TREFF_TURN_CERT: '/etc/ssl/turn.pem' }, 'TREFF_TURN_KEY'],
    [{ TREFF_TURN_KEY: '/etc/ssl/turn.key' }, 'TREFF_TURN_CERT'],
    [{ TREFF_TURN_RELAY_IP: '10.0.0.300' }, 'TREFF_TURN_RELAY_IP'],
    [{ TREFF_TURN_EXTERNAL_IP: 'example.org' }, 'TREFF_TURN_EXTERNAL_IP'],
    [{ TREFF_TURN_ALLOWED_PEER_IPS: '10.0.0.1,nope' }, 'TREFF_TURN_ALLOWED_PEER_IPS'],
    [{ TREFF_TURN_MIN_PORT: '60000', TREFF_TURN_MAX_PORT: '50000' }, 'TREFF_TURN_MAX_PORT'],
    [{ TREFF_TURN_TTL: '10' }, 'TREFF_TURN_TTL'],
  ])('refuses %j, naming %s', (env, setting) => {
    expect(configError(env as Record<string, string>).message).toContain(setting);
  });
});

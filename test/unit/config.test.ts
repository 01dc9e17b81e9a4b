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
    expect(loadConfig({}, defaults)).toEqual({
      host: '0.0.0.0',
      port: 8080,
      roomCapacity: 8,
      staticDir: '/srv/treff/client',
      maxMessageBytes: 64 * 1024,
      idleTimeoutSeconds: 32,
    });
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
    ).toEqual({ host: '127.0.0.1', port: 3000, roomCapacity: 4, staticDir: '/tmp/client', maxMessageBytes: 16384, idleTimeoutSeconds: 60 });
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
  ])('refuses %s=%j with an error naming the setting', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(name);
    expect(error.message).toContain(value.trim());
  });
});

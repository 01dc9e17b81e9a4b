// Server settings from the environment, each validated with an error that names the setting.

export interface Config {
  host: string;
  port: number;
  /** Largest meeting; a full mesh sends every stream to every peer, so more than 8 rarely works. */
  roomCapacity: number;
  /** Directory holding the built client (index.html and assets/). */
  staticDir: string;
  /** Largest WebSocket message accepted; an SDP offer with many codecs is about 10 KB. */
  maxMessageBytes: number;
  /** Seconds without traffic before a socket is dropped; uWS pings in between, browsers answer. */
  idleTimeoutSeconds: number;
}

export class ConfigError extends Error {
  constructor(setting: string, problem: string) {
    super(`Invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, defaults: { staticDir: string }): Config {
  return {
    host: env.TREFF_HOST ?? '0.0.0.0',
    port: integer(env, 'TREFF_PORT', 8080, 0, 65535),
    roomCapacity: integer(env, 'TREFF_ROOM_CAPACITY', 8, 2, 50),
    staticDir: env.TREFF_STATIC_DIR ?? defaults.staticDir,
    maxMessageBytes: integer(env, 'TREFF_MAX_MESSAGE_BYTES', 64 * 1024, 4096, 1024 * 1024),
    idleTimeoutSeconds: integer(env, 'TREFF_IDLE_TIMEOUT', 32, 8, 960),
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `${value} is outside ${min}–${max}`);
  return value;
}

// The secret shared by Treff and coturn: whoever holds it can mint relay credentials.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MIN_SECRET_LENGTH = 16;

/**
 * The secret kept in `<dataDir>/turn-secret` (or another file of the data directory), created on
 * first start (32 random bytes, hex, mode 0600).
 */
export function loadOrCreateSecret(dataDir: string, { file = 'turn-secret', what = 'the TURN secret' } = {}): string {
  const path = join(dataDir, file);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const stats = statIfExists(path);
  if (!stats) return createSecret(path);
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(`${path} is readable by others (mode ${mode}); ${what} must be private: run chmod 600 ${path}`);
  }
  const secret = readFileSync(path, 'utf8').trim();
  assertSecretShape(secret, path);
  return secret;
}

/** An operator-given secret wins; otherwise the one kept in the data directory. */
export function resolveSecret(options: { secret?: string; dataDir: string }): string {
  if (options.secret === undefined) return loadOrCreateSecret(options.dataDir);
  assertSecretShape(options.secret, 'The configured TURN secret');
  return options.secret;
}

function createSecret(path: string): string {
  const secret = randomBytes(32).toString('hex');
  // 'wx' fails instead of overwriting if another process created the file meanwhile.
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

function assertSecretShape(secret: string, source: string): void {
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`${source} is too short: the TURN secret needs at least ${MIN_SECRET_LENGTH} characters`);
  // It ends up on one line of turnserver.conf, where '#' or spaces would cut it short.
  if (!/^[\x21-\x7e]+$/.test(secret) || secret.includes('#') || secret.includes('"')) {
    throw new Error(`${source} must be printable ASCII without spaces, '#' or '"'`);
  }
}

function statIfExists(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

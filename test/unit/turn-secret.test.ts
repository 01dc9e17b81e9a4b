import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecret, resolveSecret } from '../../turn/secret.js';

let root = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'treff-secret-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loadOrCreateSecret: the relay secret is made once and kept private', () => {
  it('creates a random secret on first start, in a private directory and file', () => {
    const dataDir = join(root, 'data');
    const secret = loadOrCreateSecret(dataDir);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'turn-secret')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'turn-secret'), 'utf8').trim()).toBe(secret);
  });

  it('returns the same secret on the next start', () => {
    const first = loadOrCreateSecret(root);
    expect(loadOrCreateSecret(root)).toBe(first);
  });

  it('makes a different secret for another installation', () => {
    expect(loadOrCreateSecret(join(root, 'a'))).not.toBe(loadOrCreateSecret(join(root, 'b')));
  });

  it.each([0o644, 0o640, 0o604])('refuses a secret file with mode %o and says how to fix it', (mode) => {
    const path = join(root, 'turn-secret');
    writeFileSync(path, 'an-existing-secret-value\n');
    chmodSync(path, mode);
    expect(() => loadOrCreateSecret(root)).toThrow(/readable by others.*chmod 600/);
  });

  it('refuses a stored secret that is too short', () => {
    writeFileSync(join(root, 'turn-secret'), 'short\n', { mode: 0o600 });
    expect(() => loadOrCreateSecret(root)).toThrow(/at least 16/);
  });
});

describe('resolveSecret: an operator may give the secret instead', () => {
  it('uses the operator\'s secret and writes nothing', () => {
    const dataDir = join(root, 'data');
    expect(resolveSecret({ secret: 'the-operators-own-secret', dataDir })).toBe('the-operators-own-secret');
    expect(() => statSync(dataDir)).toThrow();
  });

  it('refuses an operator secret shorter than 16 characters', () => {
    expect(() => resolveSecret({ secret: 'too-short', dataDir: root })).toThrow(/at least 16 characters/);
  });

  it('falls back to the stored secret', () => {
    expect(resolveSecret({ dataDir: root })).toBe(loadOrCreateSecret(root));
  });
});

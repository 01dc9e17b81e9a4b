import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explain, gatherSettings, parseArgs, settingsFromFile } from '../../signal/config-sources.js';
import { ConfigError, loadConfig } from '../../signal/config.js';
import { SETTING_LIST, flagOf, helpText, settingsMarkdown } from '../../signal/settings.js';

const defaults = { staticDir: '/srv/treff/client' };

describe('one table of settings', () => {
  it('gives every setting a distinct variable, file key and flag', () => {
    for (const pick of [(s: (typeof SETTING_LIST)[number]) => s.env, (s: (typeof SETTING_LIST)[number]) => s.key, flagOf]) {
      const names = SETTING_LIST.map(pick);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('generates --help and the documentation table from it', () => {
    for (const setting of SETTING_LIST) {
      expect(helpText()).toContain(setting.env);
      expect(settingsMarkdown()).toContain(`\`${setting.env}\``);
    }
  });

  it('keeps docs/configuration.md in step with the table (regenerate with `npx tsx signal/main.ts --help-markdown`)', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toContain(settingsMarkdown());
  });

  it('documents a config example that loads without error', () => {
    const example = JSON.parse(readFileSync('docs/config.example.json', 'utf8'));
    const values = settingsFromFile(example, 'docs/config.example.json');
    // The example points at certificates that exist only on a real server; the rest must be valid.
    const config = loadConfig(values, defaults);
    expect(config.publicHost).toBe('meet.example.org');
    expect(config.client.footerLinks.privacy).toMatch(/^https:/);
  });
});

describe('where settings come from', () => {
  const file = JSON.stringify({ port: 443, roomCapacity: 6, tls: { hstsMaxAge: 600 }, turn: { mode: 'off' }, allowedOrigins: ['https://intranet.example.org'], trustProxy: true });
  const read = (path: string) => {
    if (path === '/etc/treff/config.json') return file;
    if (path === '/etc/treff/turn-secret') return 'a-secret-from-a-file-1234\n';
    throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  };

  it('layers file, environment and flags, later ones winning', () => {
    const { values, origins } = gatherSettings(['--room-capacity', '5', '--trust-proxy'], { TREFF_CONFIG: '/etc/treff/config.json', TREFF_PORT: '8443', HOME: '/root' }, read);
    const config = loadConfig(values, defaults);
    expect(config).toMatchObject({ port: 8443, roomCapacity: 5, trustProxy: true, allowedOrigins: ['https://intranet.example.org'], relay: { mode: 'off' } });
    expect(origins.get('TREFF_PORT')).toBe('TREFF_PORT');
    expect(origins.get('TREFF_ROOM_CAPACITY')).toBe('--room-capacity');
    expect(origins.get('TREFF_TURN')).toBe('"turn.mode" in /etc/treff/config.json');
  });

  it('reads the TURN secret from a file, but not both a secret and a file', () => {
    expect(gatherSettings([], { TREFF_TURN_SECRET_FILE: '/etc/treff/turn-secret' }, read).values.TREFF_TURN_SECRET).toBe('a-secret-from-a-file-1234');
    expect(() => gatherSettings([], { TREFF_TURN_SECRET_FILE: '/etc/treff/turn-secret', TREFF_TURN_SECRET: 'x'.repeat(20) }, read)).toThrow(/TREFF_TURN_SECRET_FILE.*not both/);
  });

  it('parses --name value, --name=value and bare booleans', () => {
    expect([...parseArgs(['--port=9000', '--host', '::', '--trust-proxy', '--config', 'c.json']).values]).toEqual([
      ['TREFF_PORT', '9000'],
      ['TREFF_HOST', '::'],
      ['TREFF_TRUST_PROXY', 'true'],
    ]);
    expect(parseArgs(['--config', 'c.json']).config).toBe('c.json');
    expect(parseArgs(['-h']).help).toBe(true);
    expect(() => parseArgs(['--port'])).toThrow(/--port: needs a value/);
  });

  it('says where a bad value came from', () => {
    const { values, origins } = gatherSettings([], { TREFF_CONFIG: '/etc/treff/config.json' }, () => '{ "roomCapacity": 1 }');
    let error: unknown;
    try {
      loadConfig(values, defaults);
    } catch (caught) {
      error = explain(caught, origins);
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('Invalid setting TREFF_ROOM_CAPACITY (from "roomCapacity" in /etc/treff/config.json): 1 is outside 2–50');
  });
});

describe('loadConfig: the settings added for running Treff for a town', () => {
  it('defaults to no TLS, loopback-only metrics, info logs, English and no footer links', () => {
    expect(loadConfig({}, defaults)).toMatchObject({
      tls: undefined,
      publicHost: undefined,
      limits: { rate: { burst: 400, perSecond: 100 }, maxRefused: 200, connectionsPerAddress: 64 },
      allowedOrigins: [],
      trustProxy: false,
      metricsToken: undefined,
      logLevel: 'info',
      client: { footerLinks: {}, defaultLanguage: 'en' },
    });
  });

  it('reads HTTPS with a redirect port and HSTS age', () => {
    expect(loadConfig({ TREFF_TLS_CERT: '/c.pem', TREFF_TLS_KEY: '/k.pem', TREFF_PORT: '443', TREFF_HTTP_REDIRECT_PORT: '80', TREFF_HSTS_MAX_AGE: '0' }, defaults).tls).toEqual({
      certFile: '/c.pem',
      keyFile: '/k.pem',
      redirectPort: 80,
      hstsMaxAgeSeconds: 0,
    });
  });

  it.each([
    [{ TREFF_PUBLIC_HOST: 'https://meet.example.org' }, 'TREFF_PUBLIC_HOST'],
    [{ TREFF_TLS_KEY: '/k.pem' }, 'TREFF_TLS_CERT'],
    [{ TREFF_TLS_CERT: '/c.pem', TREFF_TLS_KEY: '/k.pem', TREFF_PORT: '443', TREFF_HTTP_REDIRECT_PORT: '443' }, 'TREFF_HTTP_REDIRECT_PORT'],
    [{ TREFF_ALLOWED_ORIGINS: 'intranet.example.org' }, 'TREFF_ALLOWED_ORIGINS'],
    [{ TREFF_TRUST_PROXY: 'maybe' }, 'TREFF_TRUST_PROXY'],
    [{ TREFF_HELP_URL: '//evil.example/help' }, 'TREFF_HELP_URL'],
    [{ TREFF_DEFAULT_LANGUAGE: 'fr' }, 'TREFF_DEFAULT_LANGUAGE'],
    [{ TREFF_RATE_BURST: '5' }, 'TREFF_RATE_BURST'],
    [{ TREFF_CONNECTIONS_PER_ADDRESS: '0' }, 'TREFF_CONNECTIONS_PER_ADDRESS'],
  ])('refuses %j, naming %s', (env, setting) => {
    expect(() => loadConfig(env as Record<string, string>, defaults)).toThrow(new RegExp(`^Invalid setting ${setting}:`));
  });

  it('never repeats a secret in its error message', () => {
    expect(() => loadConfig({ TREFF_METRICS_TOKEN: 'hunter2' }, defaults)).toThrow(/^Invalid setting TREFF_METRICS_TOKEN: must be at least 16 characters$/);
  });
});

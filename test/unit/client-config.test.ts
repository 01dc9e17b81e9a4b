import { describe, expect, it } from 'vitest';
import { parseClientConfig } from '../../client/client-config.js';

describe('parseClientConfig: the footer links and language the page shows', () => {
  it('shows web addresses and paths on this server, as the server config allows them', () => {
    const config = parseClientConfig({
      footerLinks: { privacy: 'https://stadt.example/datenschutz', imprint: '/impressum', help: 'http://intranet.example/hilfe' },
      defaultLanguage: 'de',
    });
    expect(config).toEqual({
      footerLinks: { privacy: 'https://stadt.example/datenschutz', imprint: '/impressum', help: 'http://intranet.example/hilfe' },
      defaultLanguage: 'de',
    });
  });

  it.each([['javascript:alert(1)'], ['//evil.example/x'], ['/\\evil.example'], ['data:text/html,hi'], ['impressum'], [42]])('never makes a link of %j', (url) => {
    expect(parseClientConfig({ footerLinks: { imprint: url }, defaultLanguage: 'en' })?.footerLinks).toEqual({});
  });

  it('falls back to English for an unknown language and ignores what is not an object', () => {
    expect(parseClientConfig({ defaultLanguage: 'tlh' })).toEqual({ footerLinks: {}, defaultLanguage: 'en' });
    expect(parseClientConfig('nope')).toBeNull();
    expect(parseClientConfig(null)).toBeNull();
  });
});

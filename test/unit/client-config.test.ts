import { describe, expect, it } from 'vitest';
import { parseClientConfig } from '../../client/client-config.js';

describe('parseClientConfig: the footer links and language the page shows', () => {
  it('shows https addresses and paths on this server, as the server config allows them', () => {
    const config = parseClientConfig(
      { footerLinks: { privacy: 'https://stadt.example/datenschutz', imprint: '/impressum', help: 'https://intranet.example/hilfe' }, defaultLanguage: 'de' },
      'https://meet.example.org',
    );
    expect(config).toEqual({
      footerLinks: { privacy: 'https://stadt.example/datenschutz', imprint: '/impressum', help: 'https://intranet.example/hilfe' },
      defaultLanguage: 'de',
    });
  });

  it.each([['javascript:alert(1)'], ['//evil.example/x'], ['/\\evil.example'], ['/\t/evil.example/privacy'], ['http://intranet.example/hilfe'], ['data:text/html,hi'], ['impressum'], [42]])('never makes a link of %j', (url) => {
    expect(parseClientConfig({ footerLinks: { imprint: url }, defaultLanguage: 'en' }, 'https://meet.example.org')?.footerLinks).toEqual({});
  });

  it('falls back to English for an unknown language and ignores what is not an object', () => {
    expect(parseClientConfig({ defaultLanguage: 'tlh' })).toEqual({ footerLinks: {}, defaultLanguage: 'en' });
    expect(parseClientConfig('nope')).toBeNull();
    expect(parseClientConfig(null)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { parseClientConfig } from '../../client/client-config.js';
import { ConfigError, loadConfig } from '../../signal/config.js';
import { CONFIG_ORIGIN, footerLinkTarget } from '../../signal/links.js';

const PAGE = 'https://meet.example.org';

describe('footer links: parsed as the browser will follow them', () => {
  it.each([
    ['/impressum', '/impressum'],
    ['/hilfe?lang=de#kontakt', '/hilfe?lang=de#kontakt'],
    ['https://stadt.example/datenschutz', 'https://stadt.example/datenschutz'],
    ['HTTPS://Stadt.Example/Datenschutz', 'https://stadt.example/Datenschutz'],
    ['https://meet.example.org/privacy', '/privacy'],
  ])('%j is shown as %j', (link, href) => {
    expect(footerLinkTarget(link, PAGE)).toBe(href);
  });

  it.each([
    ['/\t/evil.example/privacy'],
    ['/\n/evil.example/privacy'],
    ['//evil.example/x'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['/%2F/evil.example'.replace('%2F', '/')],
    ['javascript:alert(1)'],
    ['data:text/html,hi'],
    ['http://intranet.example/hilfe'],
    ['https://meet.example.org@evil.example/'],
    ['impressum'],
    [''],
  ])('never makes a link of %j', (link) => {
    const target = footerLinkTarget(link, PAGE);
    expect(target).toBeUndefined();
  });

  it('gives only hrefs that stay on the page\'s origin or go to https', () => {
    for (const link of ['/a', 'https://x.example/', '/\t/evil.example/privacy', '//evil.example', '/\\/evil.example']) {
      const target = footerLinkTarget(link, PAGE);
      if (target === undefined) continue;
      const resolved = new URL(target, PAGE);
      expect(resolved.origin === PAGE || resolved.protocol === 'https:', `${JSON.stringify(link)} → ${target}`).toBe(true);
    }
  });

  it('the server refuses such a link at start, naming the setting', () => {
    expect(() => loadConfig({ TREFF_PRIVACY_URL: '/\t/evil.example/privacy' }, { staticDir: '' })).toThrow(ConfigError);
    expect(() => loadConfig({ TREFF_HELP_URL: 'http://intranet.example/hilfe' }, { staticDir: '' })).toThrow(/TREFF_HELP_URL/);
    expect(loadConfig({ TREFF_IMPRINT_URL: '/impressum' }, { staticDir: '' }).client.footerLinks).toEqual({ imprint: '/impressum' });
    expect(footerLinkTarget('/impressum', CONFIG_ORIGIN)).toBe('/impressum');
  });

  it('the page drops it, whatever the server sent', () => {
    const config = parseClientConfig({ footerLinks: { privacy: '/\t/evil.example/privacy', imprint: '/impressum' }, defaultLanguage: 'de' }, PAGE);
    expect(config?.footerLinks).toEqual({ imprint: '/impressum' });
  });
});

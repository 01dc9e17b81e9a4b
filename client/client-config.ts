// The operator's settings for the page, as served at GET /client-config.json (see signal/config.ts).

import { isLanguage, type Language } from './i18n/index.js';

export interface ClientConfig {
  footerLinks: { privacy?: string; imprint?: string; help?: string };
  defaultLanguage: Language;
}

/**
 * Reads what the server sent; anything malformed is left out rather than trusted. Links are web
 * addresses or paths on this server (as the server's config allows): a javascript: URL from a
 * misconfiguration, or a protocol-relative //host, must never become a link.
 */
export function parseClientConfig(raw: unknown): ClientConfig | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { footerLinks, defaultLanguage } = raw as Record<string, unknown>;
  const links: ClientConfig['footerLinks'] = {};
  if (typeof footerLinks === 'object' && footerLinks !== null) {
    for (const key of ['privacy', 'imprint', 'help'] as const) {
      const url = (footerLinks as Record<string, unknown>)[key];
      if (typeof url === 'string' && /^(https?:\/\/|\/(?![/\\]))/i.test(url)) links[key] = url;
    }
  }
  return { footerLinks: links, defaultLanguage: isLanguage(defaultLanguage) ? defaultLanguage : 'en' };
}

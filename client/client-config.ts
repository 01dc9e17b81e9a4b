// The operator's settings for the page, as served at GET /client-config.json (see signal/config.ts).

import { footerLinkTarget } from '../signal/links.js';
import { isLanguage, type Language } from './i18n/index.js';

export interface ClientConfig {
  footerLinks: { privacy?: string; imprint?: string; help?: string };
  defaultLanguage: Language;
}

/**
 * Reads what the server sent; anything malformed is left out rather than trusted. Links are
 * https: addresses or paths on this server, parsed against the page's origin as the browser will
 * follow them (signal/links.ts, the check the server's config makes too): a javascript: URL from a
 * misconfiguration, or anything the URL parser turns into another host (//host, /\t/host), must
 * never become a link.
 */
export function parseClientConfig(raw: unknown, origin: string = globalThis.location?.origin ?? 'null'): ClientConfig | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { footerLinks, defaultLanguage } = raw as Record<string, unknown>;
  const links: ClientConfig['footerLinks'] = {};
  if (typeof footerLinks === 'object' && footerLinks !== null) {
    for (const key of ['privacy', 'imprint', 'help'] as const) {
      const url = (footerLinks as Record<string, unknown>)[key];
      const target = typeof url === 'string' ? footerLinkTarget(url, origin) : undefined;
      if (target !== undefined) links[key] = target;
    }
  }
  return { footerLinks: links, defaultLanguage: isLanguage(defaultLanguage) ? defaultLanguage : 'en' };
}

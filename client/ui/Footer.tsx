import { useEffect, useState } from 'preact/hooks';
import { isLanguage, type Language } from '../i18n/index.js';
import { useT } from './i18n-context.js';

export interface ClientConfig {
  footerLinks: { privacy?: string; imprint?: string; help?: string };
  defaultLanguage: Language;
}

/** The operator's settings for the page (GET /client-config.json); absent fields are simply not shown. */
export function useClientConfig(): ClientConfig | null {
  const [config, setConfig] = useState<ClientConfig | null>(null);
  useEffect(() => {
    fetch('/client-config.json')
      .then((response) => (response.ok ? response.json() : null))
      .then((raw: unknown) => setConfig(parseClientConfig(raw)), () => undefined);
  }, []);
  return config;
}

export function parseClientConfig(raw: unknown): ClientConfig | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { footerLinks, defaultLanguage } = raw as Record<string, unknown>;
  const links: ClientConfig['footerLinks'] = {};
  if (typeof footerLinks === 'object' && footerLinks !== null) {
    for (const key of ['privacy', 'imprint', 'help'] as const) {
      const url = (footerLinks as Record<string, unknown>)[key];
      // Only web links: a javascript: URL from a misconfiguration must never become a link.
      if (typeof url === 'string' && /^https?:\/\//i.test(url)) links[key] = url;
    }
  }
  return { footerLinks: links, defaultLanguage: isLanguage(defaultLanguage) ? defaultLanguage : 'en' };
}

export function Footer({ links }: { links: ClientConfig['footerLinks'] }) {
  const t = useT();
  const entries = (['privacy', 'imprint', 'help'] as const).filter((key) => links[key]);
  if (entries.length === 0) return null;
  return (
    <footer class="app-footer">
      {entries.map((key) => (
        <a key={key} href={links[key]} rel="noopener noreferrer">
          {t(`footer.${key}`)}
        </a>
      ))}
    </footer>
  );
}

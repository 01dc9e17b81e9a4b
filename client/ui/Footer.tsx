import { useEffect, useState } from 'preact/hooks';
import { parseClientConfig, type ClientConfig } from '../client-config.js';
import { useT } from './i18n-context.js';

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

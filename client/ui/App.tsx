import { useEffect, useMemo, useState } from 'preact/hooks';
import { normalizeRoomName } from '../../signal/names.js';
import { initialLanguage, languageIsSettled, rememberLanguage, translator, type Language } from '../i18n/index.js';
import { CheckPage } from './CheckPage.js';
import { Footer, useClientConfig } from './Footer.js';
import { HelpPage } from './HelpPage.js';
import { Home } from './Home.js';
import { TranslateContext } from './i18n-context.js';
import { MeetingPage } from './MeetingPage.js';

type Route = { page: 'home'; error: string | null } | { page: 'meeting'; room: string } | { page: 'check' } | { page: 'help' };

export const CHECK_PATH = '/-/check';
export const HELP_PATH = '/-/help';

export function routeFor(path: string): Route {
  if (path === '/' || path === '') return { page: 'home', error: null };
  if (path === CHECK_PATH) return { page: 'check' };
  if (path === HELP_PATH) return { page: 'help' };
  let raw: string;
  try {
    raw = decodeURIComponent(path.slice(1));
  } catch {
    return { page: 'home', error: 'invalid' };
  }
  const room = normalizeRoomName(raw);
  return room.ok ? { page: 'meeting', room: room.value } : { page: 'home', error: 'invalid' };
}

export function App() {
  const [path, setPath] = useState(location.pathname);
  const [language, setLanguage] = useState<Language>(initialLanguage);
  const t = useMemo(() => translator(language), [language]);
  const route = routeFor(path);
  const clientConfig = useClientConfig();

  // The operator's default language applies only to browsers that prefer none of ours.
  useEffect(() => {
    if (clientConfig && !languageIsSettled()) setLanguage(clientConfig.defaultLanguage);
  }, [clientConfig]);

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  useEffect(() => {
    const onPopState = () => setPath(location.pathname);
    addEventListener('popstate', onPopState);
    return () => removeEventListener('popstate', onPopState);
  }, []);

  // Show the normalised name in the address bar, so the link people copy is the canonical one.
  useEffect(() => {
    if (route.page !== 'meeting') return;
    const canonical = '/' + encodeURIComponent(route.room);
    if (canonical !== location.pathname) history.replaceState(null, '', canonical);
  }, [path]);

  const navigate = (to: string) => {
    history.pushState(null, '', to);
    setPath(to);
  };

  const switchLanguage = () => {
    const next = language === 'de' ? 'en' : 'de';
    rememberLanguage(next);
    setLanguage(next);
  };

  return (
    <TranslateContext.Provider value={t}>
      <header class="app-header">
        <a class="logo" href="/" onClick={(event) => (event.preventDefault(), navigate('/'))}>
          Treff
        </a>
        <nav class="header-links">
          <a href={HELP_PATH} onClick={(event) => (event.preventDefault(), navigate(HELP_PATH))}>
            {t('home.help')}
          </a>
          <button class="link" lang={language === 'de' ? 'en' : 'de'} onClick={switchLanguage}>
            {t('lang.switch')}
          </button>
        </nav>
      </header>
      {route.page === 'home' && (
        <Home
          key={path}
          onGo={(room) => navigate('/' + encodeURIComponent(room))}
          onCheck={() => navigate(CHECK_PATH)}
          initialError={route.error && t('error.invalid-room-name')}
        />
      )}
      {route.page === 'meeting' && <MeetingPage key={route.room} room={route.room} onHome={() => navigate('/')} onCheck={() => navigate(CHECK_PATH)} />}
      {route.page === 'check' && <CheckPage onHome={() => navigate('/')} />}
      {route.page === 'help' && <HelpPage onBack={() => history.back()} />}
      {route.page !== 'meeting' && clientConfig && <Footer links={clientConfig.footerLinks} />}
    </TranslateContext.Provider>
  );
}

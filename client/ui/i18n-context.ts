import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { translator, type Translate } from '../i18n/index.js';

export const TranslateContext = createContext<Translate>(translator('en'));

export function useT(): Translate {
  return useContext(TranslateContext);
}

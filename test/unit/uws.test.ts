import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeFunction, loadNativeUws } from '../../signal/uws.js';

const realUws = createRequire(import.meta.url)('uWebSockets.js') as { App: unknown };

describe('isNativeFunction: telling the native uWS build from the JS fallback', () => {
  it('recognises the native App of the installed uWebSockets.js', () => {
    expect(isNativeFunction(realUws.App)).toBe(true);
  });

  it('recognises built-in functions as native', () => {
    expect(isNativeFunction(Math.max)).toBe(true);
  });

  it('sees through JavaScript functions and classes', () => {
    expect(isNativeFunction(function App() {})).toBe(false);
    expect(isNativeFunction(() => ({}))).toBe(false);
    expect(isNativeFunction(class App {})).toBe(false);
    // Source text that merely mentions native code does not fool it.
    expect(isNativeFunction(() => '{ [native code] }')).toBe(false);
  });

  it('is false for things that are not functions', () => {
    expect(isNativeFunction('function App() { [native code] }')).toBe(false);
    expect(isNativeFunction(undefined)).toBe(false);
    expect(isNativeFunction({})).toBe(false);
  });
});

describe('loadNativeUws', () => {
  const saved = process.env.UWS_USE_FALLBACK;

  afterEach(() => {
    if (saved === undefined) delete process.env.UWS_USE_FALLBACK;
    else process.env.UWS_USE_FALLBACK = saved;
  });

  it('loads the native server', () => {
    delete process.env.UWS_USE_FALLBACK;
    const uws = loadNativeUws();
    expect(isNativeFunction(uws.App)).toBe(true);
  });

  it.each(['1', 'true', 'TRUE'])('refuses to start when UWS_USE_FALLBACK=%s, naming the variable', (value) => {
    process.env.UWS_USE_FALLBACK = value;
    expect(() => loadNativeUws()).toThrow(/UWS_USE_FALLBACK/);
  });

  it('ignores UWS_USE_FALLBACK=0', () => {
    process.env.UWS_USE_FALLBACK = '0';
    expect(() => loadNativeUws()).not.toThrow();
  });
});

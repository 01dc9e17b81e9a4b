// Loads uWebSockets.js and refuses the pure-JS fallback the npm build silently switches to
// when its native binary cannot load: Treff's memory and CPU figures assume the native server.

import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

export function loadNativeUws(): typeof Uws {
  if (isTruthy(process.env.UWS_USE_FALLBACK)) {
    throw new Error('UWS_USE_FALLBACK is set: Treff runs only on the native uWebSockets.js server. Unset it.');
  }
  const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof Uws;
  if (!isNativeFunction(uws.App)) {
    throw new Error(
      `uWebSockets.js could not load its native binary for Node ${process.version} on ${process.platform}-${process.arch} ` +
        `(ABI ${process.versions.modules}) and fell back to a JavaScript implementation. ` +
        'Treff refuses to run on the fallback: use Node 20 on Linux x64, or a uWebSockets.js build for your platform.',
    );
  }
  return uws;
}

export function isNativeFunction(fn: unknown): boolean {
  return typeof fn === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn));
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true'].includes(value.toLowerCase());
}

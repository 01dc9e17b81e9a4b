// simple-peer and its stream dependencies expect Node's `process`; esbuild injects this instead.
type Callback = (...args: unknown[]) => void;

export const process = {
  env: {} as Record<string, string | undefined>,
  browser: true,
  version: '',
  versions: {},
  nextTick(callback: Callback, ...args: unknown[]): void {
    queueMicrotask(() => callback(...args));
  },
};
